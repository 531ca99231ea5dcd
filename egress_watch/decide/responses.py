"""Local answers in each service's own error shape, so the AI tool shows the reason (pure).

JSON APIs get their provider's error object; gRPC gets a trailers-only status, Connect a
unary error or, for a streaming call, an end-of-stream message: each client parses the answer
as the error it is, instead of failing to decode it or waiting for more.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from urllib.parse import quote

BLOCK_STATUS = 400
"""A block is answered as a bad request: the real CLIs print a 400's message as it is, while a
403 reads as a login problem (Claude Code: "Failed to authenticate") and a 5xx or 429 is retried."""
ERROR_STATUS = 502
GRPC_PERMISSION_DENIED = 7
GRPC_UNAVAILABLE = 14
CONNECT_END_STREAM = 0x02
# gRPC percent-encodes grpc-message: every byte outside printable ASCII, and "%" itself.
_GRPC_SAFE = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) != "%")


@dataclass(frozen=True, slots=True)
class LocalAnswer:
    """A response the proxy sends instead of forwarding: status, headers and body."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


def error_body(family: str, message: str, denied: bool = True) -> bytes:
    """An API-shaped JSON error body for ``family``."""
    if family.startswith("anthropic"):
        kind = "invalid_request_error" if denied else "api_error"
        shape: dict[str, object] = {"type": "error", "error": {"type": kind, "message": message}}
    elif family.startswith("gemini"):  # google.rpc.Status, as Google's JSON APIs answer
        code, status = (400, "FAILED_PRECONDITION") if denied else (502, "UNAVAILABLE")
        shape = {"error": {"code": code, "message": message, "status": status}}
    else:  # OpenAI's shape is what most compatible clients parse
        shape = {
            "error": {
                "message": message,
                "type": "invalid_request_error" if denied else "egress_watch_error",
                "param": None,
                "code": "egress_watch_policy" if denied else "egress_watch_internal_error",
            }
        }
    return json.dumps(shape).encode()


def _grpc(content_type: str, message: str, denied: bool) -> LocalAnswer:
    """Trailers-only gRPC: HTTP 200, no body, the status in the (only) header block."""
    code = GRPC_PERMISSION_DENIED if denied else GRPC_UNAVAILABLE
    headers = (
        ("content-type", content_type),
        ("grpc-status", str(code)),
        ("grpc-message", quote(message, safe=_GRPC_SAFE)),
    )
    return LocalAnswer(200, headers, b"")


def _connect_streaming(content_type: str, message: str, denied: bool) -> LocalAnswer:
    """A Connect stream that ends at once: one end-of-stream envelope carrying the error."""
    code = "permission_denied" if denied else "unavailable"
    payload = json.dumps({"error": {"code": code, "message": message}}).encode()
    envelope = struct.pack(">BI", CONNECT_END_STREAM, len(payload)) + payload
    return LocalAnswer(200, (("content-type", content_type),), envelope)


def _connect_unary(message: str, denied: bool) -> LocalAnswer:
    """A Connect unary error: HTTP status for the code, JSON ``{"code", "message"}`` body."""
    code, status = ("permission_denied", 403) if denied else ("unavailable", 503)
    body = json.dumps({"code": code, "message": message}).encode()
    return LocalAnswer(status, (("content-type", "application/json"),), body)


def local_answer(
    family: str, content_type: str | None, message: str, denied: bool = True
) -> LocalAnswer:
    """The answer a client of ``family`` understands, chosen by its request's content type.

    Args:
        family: the API family of the route (``openai-chat``, ``connect-proto``, ...).
        content_type: the request's Content-Type; it tells gRPC and Connect calls apart.
        message: what the user should read (masked findings, how to allow).
        denied: True for a policy block, False for an internal error (fail closed).
    """
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    if kind.startswith("application/grpc"):
        return _grpc(kind, message, denied)
    if kind.startswith("application/connect+"):
        return _connect_streaming(kind, message, denied)
    if family == "connect-proto" or kind in {"application/proto", "application/x-protobuf"}:
        return _connect_unary(message, denied)
    if family.startswith(("bedrock", "amazon-q")):  # AWS JSON errors: type in a header
        kind_header = "ValidationException" if denied else "ServiceUnavailableException"
        headers = (("content-type", "application/json"), ("x-amzn-errortype", kind_header))
        body = json.dumps({"message": message}).encode()
        return LocalAnswer(BLOCK_STATUS if denied else ERROR_STATUS, headers, body)
    status = BLOCK_STATUS if denied else ERROR_STATUS
    return LocalAnswer(
        status, (("content-type", "application/json"),), error_body(family, message, denied)
    )

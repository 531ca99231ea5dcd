"""What the addon reads out of a mitmproxy flow and what it writes back into one.

Kept apart from the hooks so the rule that credentials never leave the flow (CREDENTIAL_HEADERS)
lives in one place that the HAR import (``har``) shares.
"""

from __future__ import annotations

import json
import time
from typing import Any

from mitmproxy import http

from egress_watch.capture.streams import BodyTee
from egress_watch.decide.responses import LocalAnswer
from egress_watch.extract.responses import server_call_hint
from egress_watch.model import Capture

# Never copied into a Capture, so never reach a classifier's output, a log line or the store.
CREDENTIAL_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "x-api-key",
        "api-key",
        "x-goog-api-key",
        "openai-api-key",
        "anthropic-api-key",
        "x-amz-security-token",
        "sec-websocket-protocol",
    }
)
TEE_KEY = "egress_watch_tee"
"""flow.metadata key of the BodyTee of a streamed request."""
CALL_HINTS_KEY = "egress_watch_call_hints"
MAX_CALL_HINTS = 256


def capture_from_flow(flow: http.HTTPFlow, body: bytes | None = None) -> Capture:
    """Copy what the pipeline needs out of a flow, leaving credentials behind.

    ``body`` replaces the flow's content for requests that were streamed through a BodyTee.
    """
    request = flow.request
    headers = tuple(
        (k, v) for k, v in request.headers.items(multi=True) if k.lower() not in CREDENTIAL_HEADERS
    )
    tee = flow.metadata.get(TEE_KEY)
    reason = None
    if isinstance(tee, BodyTee):
        body = tee.body()
        if body is None:
            reason = f"streamed body of {tee.size} bytes exceeded the inspection limit"
    elif request.raw_content is None:
        reason = "request body was streamed, not buffered"
    return Capture(
        method=request.method,
        scheme=request.scheme,
        host=request.host,
        port=request.port,
        path=request.path,
        headers=headers,
        body=body if body is not None else request.raw_content,
        client_address=flow.client_conn.peername,
        uninspected_reason=reason,
        streamed=isinstance(tee, BodyTee),
    )


def local_response(answer: LocalAnswer) -> http.Response:
    """A mitmproxy response for a local answer; an empty body ends the stream with the headers."""
    return http.Response.make(answer.status, answer.body, dict(answer.headers))


def remember_call_hint(flow: http.HTTPFlow, message: Any) -> None:
    """Keep the file a server-announced tool call names, for that call's output later on."""
    if not message.is_text or len(message.content) > 1_000_000:
        return
    try:
        found = server_call_hint(json.loads(message.content))
    except ValueError:
        return
    if found is not None:
        hints = flow.metadata.setdefault(CALL_HINTS_KEY, {})
        if len(hints) < MAX_CALL_HINTS:
            hints[found[0]] = found[1]


def received_at(flow: http.HTTPFlow) -> float:
    """When the request began to arrive, on the monotonic clock. The time budget counts from
    there: a body a busy proxy was slow to read (a flood of large bodies) has less of it left.
    The client is on this machine, so reading is slow only when the proxy itself is."""
    now = time.monotonic()
    began = flow.request.timestamp_start
    return min(now, now - (time.time() - began))

"""Block answers in each service's own error shape, parsed the way each client parses them."""

from __future__ import annotations

import json
from urllib.parse import unquote

import pytest

from egress_watch.decide.responses import local_answer

MESSAGE = "egress-watch blocked this request because it contains aws-access-key AKIA…W5YB"


def header(headers: tuple[tuple[str, str], ...], name: str) -> str:
    return dict(headers)[name]


@pytest.mark.parametrize(
    ("family", "expected"),
    [
        ("openai-chat", {"error": {"message": MESSAGE, "type": "invalid_request_error",
                                   "param": None, "code": "egress_watch_policy"}}),
        ("anthropic-messages", {"type": "error",
                                "error": {"type": "invalid_request_error", "message": MESSAGE}}),
        ("gemini", {"error": {"code": 400, "message": MESSAGE, "status": "FAILED_PRECONDITION"}}),
        ("gemini-code-assist", {"error": {"code": 400, "message": MESSAGE,
                                          "status": "FAILED_PRECONDITION"}}),
        ("generic-json", {"error": {"message": MESSAGE, "type": "invalid_request_error",
                                    "param": None, "code": "egress_watch_policy"}}),
    ],
)  # fmt: skip
def test_json_families_get_their_providers_error_object(
    family: str, expected: dict[str, object]
) -> None:
    """A 400: the real CLIs print its message as it is (a 403 reads as a login problem,
    Claude Code says "Failed to authenticate"; a 5xx or 429 is retried)."""
    answer = local_answer(family, "application/json", MESSAGE)
    assert answer.status == 400
    assert header(answer.headers, "content-type") == "application/json"
    assert json.loads(answer.body) == expected


def test_bedrock_gets_an_aws_validation_error() -> None:
    answer = local_answer("bedrock-converse", "application/json", MESSAGE)
    assert answer.status == 400
    assert header(answer.headers, "x-amzn-errortype") == "ValidationException"
    assert json.loads(answer.body) == {"message": MESSAGE}


def test_internal_error_in_gemini_shape_is_unavailable_not_denied() -> None:
    answer = local_answer("gemini", "application/json", "could not inspect", denied=False)
    assert answer.status == 502
    assert json.loads(answer.body)["error"]["status"] == "UNAVAILABLE"


@pytest.mark.parametrize("content_type", ["application/grpc", "application/grpc+proto"])
def test_grpc_gets_a_trailers_only_permission_denied(content_type: str) -> None:
    answer = local_answer("connect-proto", content_type, MESSAGE)
    assert answer.status == 200
    assert answer.body == b""  # no body: mitmproxy ends the stream with the header block
    assert header(answer.headers, "grpc-status") == "7"
    encoded = header(answer.headers, "grpc-message")
    assert encoded.isascii()
    assert "%E2%80%A6" in encoded  # the ellipsis of the masked preview, percent-encoded
    assert unquote(encoded) == MESSAGE


def test_connect_unary_gets_a_json_error_with_the_http_status_of_its_code() -> None:
    answer = local_answer("connect-proto", "application/proto", MESSAGE)
    assert answer.status == 403
    assert header(answer.headers, "content-type") == "application/json"
    assert json.loads(answer.body) == {"code": "permission_denied", "message": MESSAGE}


@pytest.mark.parametrize("content_type", ["application/connect+proto", "application/connect+json"])
def test_connect_stream_ends_at_once_with_an_error_envelope(content_type: str) -> None:
    answer = local_answer("connect-proto", f"{content_type}; charset=utf-8", MESSAGE)
    assert answer.status == 200
    assert header(answer.headers, "content-type") == content_type
    flags, length, payload = answer.body[0], answer.body[1:5], answer.body[5:]
    assert flags == 0x02  # end of stream
    assert int.from_bytes(length, "big") == len(payload)
    assert json.loads(payload) == {"error": {"code": "permission_denied", "message": MESSAGE}}

"""Which requests get a ``content-length`` before they go to the upstream (pure)."""

from __future__ import annotations

import pytest
from mitmproxy import http
from mitmproxy.connection import ConnectionState
from mitmproxy.test import tflow, tutils

from egress_watch.capture.framing import StreamFraming, frame_buffered_body, frame_streamed_body


@pytest.mark.parametrize("version", ["HTTP/2.0", "HTTP/3"])
def test_an_http2_body_without_framing_gets_its_length(version: str) -> None:
    request = tutils.treq(http_version=version, content=b"")
    request.headers.pop("content-length", None)
    request.raw_content = b'{"a": 1}'
    assert frame_buffered_body(request)
    assert request.headers["content-length"] == "8"


@pytest.mark.parametrize(
    ("version", "headers", "body"),
    [
        ("HTTP/1.1", {}, b"x"),  # HTTP/1 framing is the client's own
        ("HTTP/2.0", {"content-length": "1"}, b"x"),
        ("HTTP/2.0", {"transfer-encoding": "chunked"}, b"x"),
        ("HTTP/2.0", {}, b""),  # no body: nothing to frame
    ],
)
def test_framed_or_empty_or_http1_requests_are_left_alone(
    version: str, headers: dict[str, str], body: bytes
) -> None:
    request = tutils.treq(http_version=version, content=b"")
    request.headers.pop("content-length", None)
    request.headers.update(headers)
    request.raw_content = body
    assert not frame_buffered_body(request)
    assert dict(request.headers).get("content-length") == headers.get("content-length")


def test_a_streamed_http2_body_without_framing_goes_chunked() -> None:
    request = tutils.treq(http_version="HTTP/2.0", content=b"")
    request.headers.pop("content-length", None)
    assert frame_streamed_body(request)
    assert request.headers["transfer-encoding"] == "chunked"


@pytest.mark.parametrize(
    ("version", "headers"),
    [("HTTP/1.1", {}), ("HTTP/3", {}), ("HTTP/2.0", {"content-length": "5"})],
)
def test_streamed_bodies_with_a_length_or_not_over_http2_keep_their_headers(
    version: str, headers: dict[str, str]
) -> None:
    request = tutils.treq(http_version=version, content=b"")
    request.headers.pop("content-length", None)
    request.headers.update(headers)
    assert not frame_streamed_body(request)
    assert "transfer-encoding" not in request.headers


def _streamed_h2_flow() -> http.HTTPFlow:
    flow = tflow.tflow()
    flow.request.http_version = "HTTP/2.0"
    flow.request.headers.pop("content-length", None)
    flow.server_conn.state = ConnectionState.CLOSED  # lazy: no upstream connection yet
    return flow


@pytest.mark.parametrize(("alpn", "chunked"), [(b"http/1.1", True), (None, True), (b"h2", False)])
def test_a_streamed_flow_waits_for_the_upstream_protocol(alpn: bytes | None, chunked: bool) -> None:
    framing, flow = StreamFraming(), _streamed_h2_flow()
    framing.streamed(flow)
    assert "transfer-encoding" not in flow.request.headers  # not known yet
    flow.server_conn.alpn = alpn
    framing.upstream_ready(flow.client_conn, flow.server_conn)
    assert ("transfer-encoding" in flow.request.headers) is chunked
    framing.upstream_ready(flow.client_conn, flow.server_conn)  # once only: nothing left waiting


def test_a_streamed_flow_on_an_open_http2_upstream_is_left_alone() -> None:
    flow = _streamed_h2_flow()
    flow.server_conn.state = ConnectionState.OPEN
    flow.server_conn.alpn = b"h2"
    StreamFraming().streamed(flow)
    assert "transfer-encoding" not in flow.request.headers

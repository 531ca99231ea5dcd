"""Transports through the real proxy: SSE streaming, HTTP/2, zstd, bombs, Connect over HTTP/2."""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from egress_watch.decoding.encoding import zstd
from egress_watch.paths import HomePaths
from tests.conftest import fake_aws_key_id
from tests.fixtures.wire.cases import envelope, pb
from tests.integration.conftest import RunningProxy, start_proxy
from tests.support.h2client import h2_post
from tests.support.h2server import H2UpstreamServer
from tests.support.servers import ConnectProxy, RecordedRequest, TestCA, UpstreamResponse
from tests.support.wsserver import WebSocketClient, WebSocketUpstream

pytestmark = pytest.mark.slow


def chat(content: str, stream: bool = False) -> bytes:
    body = {"model": "m", "stream": stream, "messages": [{"role": "user", "content": content}]}
    return json.dumps(body).encode()


def client(proxy: RunningProxy, http2: bool = False) -> httpx.Client:
    # httpx offers "http/1.1" before "h2" and mitmproxy honours the client's order: an HTTP/2
    # client here is one that offers only h2.
    return httpx.Client(
        proxy=proxy.url,
        verify=proxy.client_ssl_context(),
        http1=not http2,
        http2=http2,
        timeout=30,
    )


def rules_of(event: dict[str, object]) -> set[str]:
    findings = event["findings"]
    assert isinstance(findings, list)
    return {f["rule"] for f in findings}


def test_sse_first_event_reaches_the_client_before_the_upstream_finishes(
    running_proxy: RunningProxy,
) -> None:
    release = threading.Event()

    def sse_chunks() -> Iterator[bytes]:
        yield b'data: {"choices":[{"delta":{"content":"first"}}]}\n\n'
        release.wait(timeout=20)  # the rest only after the client has seen the first event
        yield b"data: [DONE]\n\n"

    def respond(request: RecordedRequest) -> UpstreamResponse:
        return UpstreamResponse(headers={"Content-Type": "text/event-stream"}, chunks=sse_chunks())

    running_proxy.upstream.respond = respond
    started = time.monotonic()
    with (
        client(running_proxy) as http,
        http.stream(
            "POST", "https://api.openai.com/v1/chat/completions", content=chat("hi", True)
        ) as response,
    ):
        lines = response.iter_lines()
        first = next(line for line in lines if line)
        seen_first_while_upstream_blocked = not release.is_set()
        release.set()
        rest = [line for line in lines if line]
    assert first == 'data: {"choices":[{"delta":{"content":"first"}}]}'
    assert seen_first_while_upstream_blocked
    assert rest == ["data: [DONE]"]
    assert time.monotonic() - started < 15


def test_http2_client_is_inspected(tmp_path: Path, test_ca: TestCA, ew_home: HomePaths) -> None:
    with (
        H2UpstreamServer(test_ca) as upstream,
        ConnectProxy(("127.0.0.1", upstream.port)) as tunnel,
        start_proxy(tmp_path, test_ca, ew_home, upstream=tunnel) as proxy,
    ):
        response = h2_post(
            proxy.port, proxy.client_ssl_context(), "api.openai.com", "/v1/chat/completions",
            [chat(f"key {fake_aws_key_id()}")], {"content-type": "application/json"},
        )  # fmt: skip
        events = proxy.events()
    assert response.alpn == "h2"
    assert response.status == 200
    assert json.loads(response.body)["choices"][0]["message"]["content"] == "hello over h2"
    assert upstream.requests[0][0] == "/v1/chat/completions"
    (event,) = events
    assert "aws-access-key" in rules_of(event)


def test_zstd_request_body_is_decoded_and_inspected(running_proxy: RunningProxy) -> None:
    with client(running_proxy) as http:
        response = http.post(
            "https://api.openai.com/v1/chat/completions",
            content=zstd.compress(chat(f"key {fake_aws_key_id()}")),
            headers={"content-type": "application/json", "content-encoding": "zstd"},
        )
    assert response.status_code == 200
    (event,) = running_proxy.events()
    assert "aws-access-key" in rules_of(event)
    received = running_proxy.upstream.requests[0]
    assert received.header("content-encoding") == "zstd"  # forwarded as the client sent it


def test_compression_bomb_is_recorded_uninspected_and_still_forwarded(
    running_proxy: RunningProxy,
) -> None:
    bomb = gzip.compress(b"{" + b" " * (64 * 2**20) + b"}")  # 64 MiB of JSON whitespace
    with client(running_proxy) as http:
        response = http.post(
            "https://api.openai.com/v1/chat/completions",
            content=bomb,
            headers={"content-type": "application/json", "content-encoding": "gzip"},
        )
    assert response.status_code == 200
    (event,) = running_proxy.events()
    assert "exceeds" in str(event["uninspected_reason"])
    assert event["action"] == "pass"


def test_connect_streaming_request_over_http2_is_streamed_and_inspected(
    tmp_path: Path, test_ca: TestCA, ew_home: HomePaths
) -> None:
    current_file = pb(1, "deploy/settings.py") + pb(2, f"AWS_KEY = '{fake_aws_key_id()}'\n")
    body = envelope(pb(1, current_file), compress=True)
    with (
        H2UpstreamServer(test_ca) as upstream,
        ConnectProxy(("127.0.0.1", upstream.port)) as tunnel,
        start_proxy(tmp_path, test_ca, ew_home, upstream=tunnel) as proxy,
    ):
        response = h2_post(
            proxy.port, proxy.client_ssl_context(), "api2.cursor.sh",
            "/aiserver.v1.AiService/StreamCpp", [body[:7], body[7:]],  # two DATA frames
            {"content-type": "application/connect+proto"},
        )  # fmt: skip
        events = proxy.events()
    assert response.status == 200
    assert upstream.requests == [("/aiserver.v1.AiService/StreamCpp", body)]  # byte for byte
    (event,) = events
    assert event["service"] == "cursor"
    assert "aws-access-key" in rules_of(event)
    assert event["findings"][0]["path_hint"] == "deploy/settings.py"  # type: ignore[index]


@pytest.mark.parametrize("mode", ["monitor", "block"])
def test_websocket_client_messages_are_inspected_one_by_one(
    tmp_path: Path, test_ca: TestCA, ew_home: HomePaths, mode: str
) -> None:
    key = fake_aws_key_id()
    with (
        WebSocketUpstream(test_ca) as upstream,
        ConnectProxy(("127.0.0.1", upstream.port)) as tunnel,
        start_proxy(tmp_path, test_ca, ew_home, "--mode", mode, upstream=tunnel) as proxy,
    ):
        ws = WebSocketClient(proxy.port, proxy.client_ssl_context(), "api.openai.com",
                             "/v1/realtime?model=gpt-realtime")  # fmt: skip
        try:
            ws.send(json.dumps({"type": "session.update", "session": {"instructions": "be kind"}}))
            assert ws.receive() == "ack:1"
            ws.send(json.dumps({"type": "conversation.item.create", "item": {
                "type": "message", "role": "user",
                "content": [{"type": "input_text", "text": f"deploy with {key}"}]}}))  # fmt: skip
            reply = json.loads(ws.receive()) if mode == "block" else ws.receive()
        finally:
            ws.close()
        events = proxy.events()
        received = upstream.messages
    ws_events = [e for e in reversed(events) if e["method"] == "WS"]
    assert len(ws_events) == 2
    assert "aws-access-key" in rules_of(ws_events[1])
    assert ws_events[0]["findings"] == []
    if mode == "monitor":
        assert reply == "ack:2"
        assert len(received) == 2
        assert ws_events[1]["action"] == "pass"
    else:
        assert reply["type"] == "error"
        assert "aws-access-key" in reply["error"]["message"]
        assert key not in json.dumps(reply)
        assert len(received) == 1  # the message with the key never reached the upstream
        assert ws_events[1]["action"] == "block"

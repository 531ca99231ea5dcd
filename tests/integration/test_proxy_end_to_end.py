"""The whole path, all real: client → egress-watch (mitmproxy, TLS) → CONNECT proxy → upstream."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import httpx
import psutil
import pytest

from tests.conftest import fake_aws_key_id, fake_aws_secret
from tests.integration.conftest import RunningProxy

pytestmark = pytest.mark.slow


def chat_request(content: str) -> dict[str, object]:
    return {"model": "gpt-test", "messages": [{"role": "user", "content": content}]}


def files_under(home: Path) -> list[Path]:
    return [p for p in home.rglob("*") if p.is_file()]


def test_planted_aws_key_is_recorded_masked_and_the_client_gets_the_answer(
    running_proxy: RunningProxy,
) -> None:
    key_id, secret = fake_aws_key_id(), fake_aws_secret()
    prompt = f"deploy with\naws_access_key_id = {key_id}\naws_secret_access_key = {secret}\n"
    api_key = "sk-" + "test" + "0123456789abcdef" * 3
    with httpx.Client(proxy=running_proxy.url, verify=running_proxy.client_ssl_context()) as client:
        response = client.post(
            "https://api.openai.com/v1/chat/completions",
            json=chat_request(prompt),
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=30,
        )
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == "hello from upstream"
    received = running_proxy.upstream.requests
    assert len(received) == 1
    assert received[0].json()["messages"][0]["content"] == prompt  # monitor mode: untouched

    events = running_proxy.events()
    assert len(events) == 1
    event = events[0]
    assert (event["service"], event["host"], event["path"], event["action"]) == (
        "openai", "api.openai.com", "/v1/chat/completions", "pass",
    )  # fmt: skip
    findings = event["findings"]
    assert isinstance(findings, list)
    aws = [f for f in findings if f["rule"] == "aws-access-key"]
    assert len(aws) == 1
    assert aws[0]["severity"] == "critical"
    assert aws[0]["role"] == "user"
    assert aws[0]["masked"].startswith(key_id[:4])
    assert {f["rule"] for f in findings} == {"aws-access-key", "aws-secret-key"}

    # Stop the proxy so every buffered byte (WAL, log) is on disk, then search it all.
    running_proxy.process.terminate()
    running_proxy.process.wait(timeout=20)
    planted = [key_id.encode(), secret.encode(), api_key.encode()]
    searched = [*files_under(running_proxy.paths.home), running_proxy.log_path]
    assert any(p.name == "history.db" for p in searched)
    for path in searched:
        data = path.read_bytes()
        for value in planted:
            assert value not in data, f"a planted secret leaked into {path}"


def test_event_is_committed_before_the_upstream_sees_the_request(
    running_proxy: RunningProxy,
) -> None:
    seen_at_upstream: list[int] = []

    def count_events_then_answer(request: object) -> None:
        seen_at_upstream.append(len(running_proxy.events()))

    running_proxy.upstream.respond = count_events_then_answer  # type: ignore[attr-defined]
    with httpx.Client(proxy=running_proxy.url, verify=running_proxy.client_ssl_context()) as client:
        response = client.post(
            "https://api.anthropic.com/v1/messages",
            json={"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]},
            timeout=30,
        )
    assert response.status_code == 200
    assert seen_at_upstream == [1]


def test_host_outside_the_catalog_is_passed_through_not_decrypted(
    running_proxy: RunningProxy,
) -> None:
    # Trust only the upstream's own test CA: if egress-watch decrypted this connection, the
    # client would see a certificate from egress-watch's CA and the handshake would fail.
    with httpx.Client(
        proxy=running_proxy.url, verify=running_proxy.test_ca.ssl_context()
    ) as client:
        response = client.get("https://example.org/", timeout=30)
    assert response.status_code == 200
    assert response.text == "upstream ok"
    assert running_proxy.events() == []
    with (
        httpx.Client(proxy=running_proxy.url, verify=running_proxy.test_ca.ssl_context()) as client,
        pytest.raises(httpx.ConnectError),
    ):
        client.post("https://api.openai.com/v1/chat/completions", json=chat_request("x"))


def test_status_reports_the_running_daemon_and_its_counters(running_proxy: RunningProxy) -> None:
    with httpx.Client(proxy=running_proxy.url, verify=running_proxy.client_ssl_context()) as client:
        client.post(
            "https://api.openai.com/v1/chat/completions", json=chat_request("x"), timeout=30
        )
    deadline = time.monotonic() + 15  # the daemon publishes its counters every 2 s
    while True:
        result = running_proxy.cli("status", "--json")
        status = json.loads(result.stdout)
        if status.get("events") == 1 or time.monotonic() > deadline:
            break
    assert result.returncode == 0
    assert status["running"] is True
    assert (status["requests"], status["events"], status["errors"]) == (1, 1, 0)
    assert status["uptime_s"] >= 0
    assert status["pid"] == running_proxy.process.pid
    assert status["listen_port"] == running_proxy.port
    assert status["listen_host"] == "127.0.0.1"


@pytest.mark.parametrize("mode", ["redact", "block"])
def test_redact_and_block_through_the_real_proxy(
    tmp_path: Path, test_ca: object, ew_home: object, mode: str, request: pytest.FixtureRequest
) -> None:
    from tests.integration.conftest import start_proxy

    with start_proxy(tmp_path, test_ca, ew_home, "--mode", mode) as proxy:  # type: ignore[arg-type]
        key_id = fake_aws_key_id()
        with httpx.Client(proxy=proxy.url, verify=proxy.client_ssl_context()) as client:
            response = client.post(
                "https://api.anthropic.com/v1/messages",
                json={"model": "m", "max_tokens": 5,
                      "messages": [{"role": "user", "content": f"use {key_id} please"}]},
                timeout=30,
            )  # fmt: skip
        events = proxy.events()
        assert [e["action"] for e in events] == [mode]
        # The sender is named on the event: this test process is the client.
        assert events[0]["process_pid"] == os.getpid()
        assert events[0]["process_exe"] == psutil.Process().exe()
        if mode == "redact":
            assert response.status_code == 200
            assert response.json()["content"][0]["text"] == "hello from upstream"
            sent = proxy.upstream.requests[0].json()["messages"][0]["content"]
            assert sent.startswith("use [REDACTED:aws-access-key:")
            assert sent.endswith("] please")
            assert key_id.encode() not in proxy.upstream.requests[0].body
        else:
            assert response.status_code == 400
            error = response.json()
            assert error["type"] == "error"
            assert error["error"]["type"] == "invalid_request_error"
            assert "aws-access-key" in error["error"]["message"]
            fingerprint = events[0]["findings"][0]["fingerprint"]  # type: ignore[index]
            assert f"egress-watch allow {fingerprint} --reason TEXT" in error["error"]["message"]
            assert key_id not in response.text
            assert proxy.upstream.requests == []


def test_hosts_inventory_counts_connections_and_flags_uncatalogued_ai_hosts(
    running_proxy: RunningProxy,
) -> None:
    import sqlite3

    verify = running_proxy.test_ca.ssl_context()
    verify.check_hostname = False  # the test upstream's certificate does not name this host
    for url in (
        "https://llm.gateway.example/v1/models",
        "https://example.org/",
        "https://example.org/",
    ):
        with httpx.Client(proxy=running_proxy.url, verify=verify, timeout=30) as client:
            assert client.get(url).status_code == 200  # a new client: a new tunnel each time
    with httpx.Client(proxy=running_proxy.url, verify=running_proxy.client_ssl_context()) as client:
        client.post(
            "https://api.openai.com/v1/chat/completions", json=chat_request("x"), timeout=30
        )
    query = "SELECT host, connections, decrypted, looks_like_ai, ai_reason FROM hosts ORDER BY host"
    deadline = time.monotonic() + 15  # host counts are written behind the traffic, not before
    while True:
        rows = sqlite3.connect(running_proxy.paths.database).execute(query).fetchall()
        if len(rows) == 3 or time.monotonic() > deadline:
            break
    assert rows == [
        ("api.openai.com", 1, 1, 0, None),
        ("example.org", 2, 0, 0, None),
        ("llm.gateway.example", 1, 0, 1, "name contains 'llm'"),
    ]

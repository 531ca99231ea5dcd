"""Hostile bodies through the real proxy: a bad byte, deep nesting or an unreadable body never
carries a secret past ``--mode block`` or ``--mode redact``, and ``[policy] uninspected``
applies in every mode."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from egress_watch.paths import HomePaths
from tests.conftest import fake_aws_key_id
from tests.integration.conftest import RunningProxy, start_proxy
from tests.support.servers import TestCA

pytestmark = pytest.mark.slow

CHAT_URL = "https://api.openai.com/v1/chat/completions"
BINARY = b"\x00\x01\x02\xff\xfe" * 40


def chat(content: str, tail: str = "") -> bytes:
    text = json.dumps({"model": "m", "messages": [{"role": "user", "content": content}]})
    return (text[:-1] + tail + "}").encode()


def with_bad_byte(key: str) -> bytes:
    return chat(f"key {key} caf\u00e9").replace(b"caf\\u00e9", b"caf\xff")


def deep(key: str) -> bytes:
    return chat(f"key {key}", tail=',"x":' + "[" * 10_000 + "]" * 10_000)


def send(proxy: RunningProxy, body: bytes, content_type: str) -> httpx.Response:
    with httpx.Client(proxy=proxy.url, verify=proxy.client_ssl_context(), timeout=60) as client:
        return client.post(CHAT_URL, content=body, headers={"content-type": content_type})


def post(proxy: RunningProxy, body: bytes, content_type: str = "application/json") -> int:
    return send(proxy, body, content_type).status_code


def sent_bodies(proxy: RunningProxy) -> list[bytes]:
    return [r.body for r in proxy.upstream.requests]


def write_config(paths: HomePaths, text: str) -> None:
    paths.home.mkdir(parents=True, exist_ok=True, mode=0o700)
    paths.config.write_text(text)


def assert_never_stored(proxy: RunningProxy, key: str) -> None:
    assert key.encode() not in proxy.paths.database.read_bytes()
    assert key not in proxy.log_path.read_text(errors="replace")


def reload(proxy: RunningProxy, config: str, mode: str) -> None:
    """Rewrite config.toml, SIGHUP the daemon and wait (bounded) until it runs in ``mode``."""
    write_config(proxy.paths, config)
    proxy.process.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 20
    while f"reloaded {proxy.paths.config} (mode {mode})" not in proxy.log_path.read_text(
        errors="replace"
    ):
        assert time.monotonic() < deadline, "the reload was never logged"
        with pytest.raises(subprocess.TimeoutExpired):  # the daemon must keep running
            proxy.process.wait(timeout=0.1)


def test_block_and_redact_mode_never_send_a_key_hidden_by_bad_bytes_or_nesting(
    tmp_path: Path, test_ca: TestCA, ew_home: HomePaths
) -> None:
    key = fake_aws_key_id()
    with start_proxy(tmp_path, test_ca, ew_home, "--mode", "block") as proxy:
        assert post(proxy, with_bad_byte(key)) == 400
        assert post(proxy, deep(key)) == 400
        unreadable = send(proxy, BINARY, "application/octet-stream")  # blocked, saying why
        assert unreadable.status_code == 400
        assert "could not inspect its body" in unreadable.json()["error"]["message"]
        assert post(proxy, chat("hello")) == 200  # the proxy still forwards clean requests
        assert len(sent_bodies(proxy)) == 1
        events = proxy.events()
        assert [e["action"] for e in events] == ["pass", "block", "block", "block"]
        assert events[1]["uninspected_reason"]  # the binary body says why it was not read

        reload(proxy, '[proxy]\nmode = "redact"\n', "redact")
        proxy.upstream.clear()
        # Bytes that were replaced cannot be re-encoded, nor can hostile nesting: blocked.
        assert post(proxy, with_bad_byte(key)) == 400
        assert post(proxy, deep(key)) == 400
        latin1 = json.dumps({"model": "m", "messages": [
            {"role": "user", "content": f"Schl\u00fcssel {key}"}]}, ensure_ascii=False)  # fmt: skip
        assert post(proxy, latin1.encode("latin-1"), "application/json; charset=ISO-8859-1") == 200
        assert post(proxy, BINARY, "application/octet-stream") == 200  # redact: recorded
        bodies = sent_bodies(proxy)
        assert len(bodies) == 2
        assert all(key.encode() not in body for body in bodies)
        content = json.loads(bodies[0].decode("latin-1"))["messages"][0]["content"]
        assert content.startswith("Schl\u00fcssel [REDACTED:")
        assert_never_stored(proxy, key)


def test_policy_uninspected_decides_in_monitor_and_in_block_mode(
    tmp_path: Path, test_ca: TestCA, ew_home: HomePaths
) -> None:
    write_config(ew_home, '[policy]\nuninspected = "block"\n')
    with start_proxy(tmp_path, test_ca, ew_home) as proxy:  # monitor mode
        assert post(proxy, BINARY, "application/octet-stream") == 400
        assert post(proxy, chat("hello")) == 200
        assert len(sent_bodies(proxy)) == 1
        events = proxy.events()
        assert events[1]["action"] == "block"
        assert events[1]["uninspected_reason"]

        # Block mode, but the policy lets unreadable bodies through (reloaded, no restart).
        reload(proxy, '[proxy]\nmode = "block"\n[policy]\nuninspected = "monitor"\n', "block")
        assert post(proxy, BINARY, "application/octet-stream") == 200
        assert sent_bodies(proxy)[-1] == BINARY
        assert post(proxy, chat(f"key {fake_aws_key_id()}")) == 400  # block mode is in force

"""Policy in the running daemon: an allow applies within a second; alerts reach the desktop."""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx
import pytest

from egress_watch.paths import HomePaths
from tests.conftest import fake_aws_key_id, fake_aws_secret
from tests.integration.conftest import RunningProxy, start_proxy
from tests.support.servers import TestCA

pytestmark = pytest.mark.slow


def send(proxy: RunningProxy, content: str) -> httpx.Response:
    with httpx.Client(proxy=proxy.url, verify=proxy.client_ssl_context(), timeout=30) as client:
        return client.post(
            "https://api.openai.com/v1/chat/completions",
            json={"model": "m", "messages": [{"role": "user", "content": content}]},
        )


def test_an_allow_applies_to_the_running_daemon_within_a_second(
    tmp_path: Path, test_ca: TestCA, ew_home: HomePaths
) -> None:
    with start_proxy(tmp_path, test_ca, ew_home, "--mode", "block") as proxy:
        prompt = f"use {fake_aws_key_id()} please"
        blocked = send(proxy, prompt)
        assert blocked.status_code == 400
        (event,) = proxy.events()
        fingerprint = event["findings"][0]["fingerprint"]  # type: ignore[index]
        result = proxy.cli("allow", fingerprint, "--reason", "documented test key")
        assert result.returncode == 0, result.stderr
        allowed_at = time.monotonic()
        deadline = allowed_at + 10
        last_blocked_at = allowed_at
        while (response := send(proxy, prompt)).status_code == 400:
            last_blocked_at = time.monotonic()
            assert last_blocked_at < deadline, "the allow was never applied"
        # No request sent more than a second after the allow was still blocked.
        assert last_blocked_at - allowed_at < 1.0
        assert response.status_code == 200
        assert proxy.upstream.requests[-1].json()["messages"][0]["content"] == prompt
        latest = proxy.events()[0]
        assert latest["action"] == "pass"
        assert [f["fingerprint"] for f in latest["findings"]] == [fingerprint]  # type: ignore[union-attr]

        # Revoked: blocked again.
        assert proxy.cli("allow", "--remove", fingerprint).returncode == 0
        deadline = time.monotonic() + 10
        while send(proxy, prompt).status_code == 200:
            assert time.monotonic() < deadline, "the removal was never applied"


def fake_notifier(directory: Path) -> Path:
    """A ``notify-send`` that appends its arguments, NUL-separated, each call ended by RS."""
    directory.mkdir()
    log = directory / "calls.log"
    script = directory / "notify-send"
    script.write_text(f'#!/bin/sh\nprintf "%s\\0" "$@" >> "{log}"\nprintf "\\036" >> "{log}"\n')
    script.chmod(0o755)
    return log


def test_alerts_reach_the_desktop_once_per_value_and_never_carry_it(
    tmp_path: Path, test_ca: TestCA, ew_home: HomePaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = fake_notifier(tmp_path / "bin")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    with start_proxy(tmp_path, test_ca, ew_home) as proxy:  # monitor: the default alerts
        key_id, secret = fake_aws_key_id(), fake_aws_secret()
        assert send(proxy, f"use {key_id}").status_code == 200
        assert send(proxy, f"again {key_id}").status_code == 200  # same value: no second alert
        assert send(proxy, "nothing to see").status_code == 200
        assert send(proxy, f"aws_secret_access_key = {secret}").status_code == 200
        deadline = time.monotonic() + 15  # notifications run behind the requests
        while True:
            calls = log.read_text().split("\x1e")[:-1] if log.exists() else []
            if len(calls) >= 2 or time.monotonic() > deadline:
                break
        assert len(proxy.events()) == 4
    calls = log.read_text().split("\x1e")[:-1]
    assert len(calls) == 2
    first, second = (call.rstrip("\0").split("\0") for call in calls)
    assert first[:2] == ["--app-name=egress-watch", "--urgency=critical"]
    assert first[2].startswith("egress-watch: secret sent — openai by ")
    assert "aws-access-key" in first[3]
    assert "aws-secret-key" in second[3]
    text = log.read_text()
    assert key_id not in text
    assert secret not in text

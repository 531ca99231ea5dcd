"""Nothing lost, nothing misreported: a locked history, a full disk, an upstream that fails.

Each test runs the real daemon, real TLS through a CONNECT tunnel, real SQLite files; the full
disk is a small tmpfs mounted as the data home (root only: skipped with the reason otherwise).
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from egress_watch.capture import daemon
from egress_watch.paths import HomePaths
from egress_watch.workstation.doctor import check_daemon
from tests.conftest import fake_aws_key_id
from tests.integration.conftest import RunningProxy, start_proxy, wait_until
from tests.integration.test_policy_live import fake_notifier
from tests.support.servers import ConnectProxy, TestCA, free_port

pytestmark = pytest.mark.slow

REQUESTS = 20
URL = "https://api.openai.com/v1/chat/completions"


def status(proxy: RunningProxy) -> dict[str, Any]:
    """What ``status --json`` prints, read in-process (a CLI start per poll is slow here)."""
    return daemon.status(proxy.paths)


def stored_models(proxy: RunningProxy) -> list[str]:
    """The model each stored event names (the request's number), in id order (the dashboard's)."""
    conn = sqlite3.connect(f"{proxy.paths.database.as_uri()}?mode=ro", uri=True)
    try:
        return [m for (m,) in conn.execute("SELECT model FROM events ORDER BY id")]
    finally:
        conn.close()


def send_numbered(proxy: RunningProxy, count: int, content: str = "hello") -> list[int]:
    """Send ``count`` chats one after the other; return the status codes."""
    with httpx.Client(proxy=proxy.url, verify=proxy.client_ssl_context(), timeout=60) as client:
        return [
            client.post("https://api.openai.com/v1/chat/completions",
                        json={"model": f"m{n}", "messages": [{"role": "user", "content": content}]},
                        ).status_code
            for n in range(count)
        ]  # fmt: skip


def numbered(count: int) -> list[str]:
    return [f"m{n}" for n in range(count)]


def test_locked_history_is_spooled_reported_and_replayed_in_order_without_new_traffic(
    tmp_path: Path, test_ca: TestCA, ew_home: HomePaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    alerts = fake_notifier(tmp_path / "bin")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    key_id = fake_aws_key_id()
    with start_proxy(tmp_path, test_ca, ew_home) as proxy:
        assert send_numbered(proxy, 1) == [200]
        wait_until(proxy, lambda: len(stored_models(proxy)) == 1, "the first event")
        locker = sqlite3.connect(proxy.paths.database, isolation_level=None)
        locker.execute("BEGIN EXCLUSIVE")  # another program holds the history
        try:
            codes = send_numbered(proxy, REQUESTS, f"deploy with {key_id}")
            assert codes == [200] * REQUESTS
            wait_until(proxy, lambda: status(proxy).get("spooled") == REQUESTS, "spooled count")
            info = status(proxy)
            assert info["history"] == "degraded"
            assert "locked" in str(info["history_error"])
            assert json.loads(proxy.cli("status", "--json").stdout)["spooled"] == REQUESTS
            assert "history DEGRADED" in proxy.cli("status").stdout
            history = next(c for c in check_daemon(info) if c.name == "history")
            assert not history.ok
            assert "spooled" in history.detail
            spool = proxy.paths.database.with_name("history.db.spool.jsonl")
            assert spool.stat().st_mode & 0o777 == 0o600
            assert key_id not in spool.read_text()
        finally:
            locker.execute("ROLLBACK")
            locker.close()
        # No further traffic: the timer alone must bring the history up to date.
        wait_until(proxy, lambda: len(stored_models(proxy)) == REQUESTS + 1, "the replay")
        assert stored_models(proxy)[1:] == numbered(REQUESTS)  # ids in the order sent
        wait_until(proxy, lambda: status(proxy).get("history") == "ok", "health back to ok")
        assert len(proxy.events()) == REQUESTS + 1  # what `events` shows, no more traffic
        wait_until(proxy, lambda: alerts.exists(), "the desktop alert")
    calls = alerts.read_text().split("\x1e")[:-1]
    history_alerts = [c for c in calls if "history not writable" in c]
    assert len(history_alerts) == 1  # one alert for the episode, not one per event
    assert key_id not in alerts.read_text()


@pytest.fixture
def small_disk_home(ew_home: HomePaths) -> Iterator[HomePaths]:
    """The data home on an 8 MB tmpfs of its own."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    ew_home.home.mkdir(parents=True)
    mount = ["mount", "-t", "tmpfs", "-o", "size=8m,mode=0700", "tmpfs", str(ew_home.home)]
    mounted = subprocess.run(mount, capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"mount -t tmpfs not permitted here: {mounted.stderr.strip()}")
    try:
        yield ew_home
    finally:
        subprocess.run(["umount", "-l", str(ew_home.home)], check=False)


@contextmanager
def disk_filled(directory: Path) -> Iterator[None]:
    """Fill the file system of ``directory`` to the last byte; free it again on exit."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (1 << 20, 4096, 1):  # big writes, then down to the last byte
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError:
                pass
    finally:
        os.close(fd)
    try:
        yield
    finally:
        filler.unlink()


def test_full_disk_keeps_every_answered_request_and_replays_once_space_is_back(
    tmp_path: Path, test_ca: TestCA, small_disk_home: HomePaths
) -> None:
    with start_proxy(tmp_path, test_ca, small_disk_home) as proxy:
        assert send_numbered(proxy, 1) == [200]
        wait_until(proxy, lambda: len(stored_models(proxy)) == 1, "the first event")
        with disk_filled(small_disk_home.home):
            codes = send_numbered(proxy, REQUESTS)
            assert codes == [200] * (REQUESTS)
            wait_until(proxy, lambda: status(proxy).get("history") == "degraded", "degraded")
            assert "history DEGRADED" in proxy.cli("status").stdout
        wait_until(proxy, lambda: len(stored_models(proxy)) == REQUESTS + 1, "the replay")
        assert stored_models(proxy)[1:] == numbered(REQUESTS)
        wait_until(proxy, lambda: status(proxy).get("history") == "ok", "health back to ok")
        assert status(proxy)["lost"] == 0


class ResettingUpstream:
    """A TLS server for the AI hosts that reads a request, then resets the connection."""

    def __init__(self, ca: TestCA) -> None:
        cert, key = ca.issue(["api.openai.com"])
        self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.tls.load_cert_chain(cert, key)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> ResettingUpstream:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.listener.close()
        self.thread.join(timeout=10)

    def _serve(self) -> None:
        while True:
            try:
                raw, _ = self.listener.accept()
            except OSError:
                return  # closed
            try:
                raw.settimeout(10)
                with self.tls.wrap_socket(raw, server_side=True) as conn:
                    data = b""
                    while b"\r\n\r\n" not in data:
                        chunk = conn.recv(65536)
                        if not chunk:
                            break
                        data += chunk
                    # SO_LINGER 0: close() sends a RST instead of a FIN.
                    raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
            except OSError:
                pass
            finally:
                raw.close()


def stored_outcomes(proxy: RunningProxy) -> list[tuple[str, str | None]]:
    conn = sqlite3.connect(f"{proxy.paths.database.as_uri()}?mode=ro", uri=True)
    try:
        return list(conn.execute("SELECT action, error FROM events ORDER BY id"))
    finally:
        conn.close()


def test_upstream_reset_or_down_is_recorded_as_failed_and_not_counted_as_sent(
    tmp_path: Path, test_ca: TestCA, ew_home: HomePaths
) -> None:
    key_id = fake_aws_key_id()
    with (
        ResettingUpstream(test_ca) as upstream,
        ConnectProxy(("127.0.0.1", upstream.port)) as tunnel,
        start_proxy(tmp_path, test_ca, ew_home, upstream=tunnel) as proxy,
        httpx.Client(proxy=proxy.url, verify=proxy.client_ssl_context(), timeout=60) as client,
    ):
        body = {"model": "m", "messages": [{"role": "user", "content": f"key {key_id}"}]}
        assert client.post(URL, json=body).status_code == 502  # reset after the request
        tunnel.target = ("127.0.0.1", free_port())  # now nobody listens: upstream down
        assert client.post(URL, json=body).status_code == 502
        wait_until(proxy, lambda: [a for a, _ in stored_outcomes(proxy)] == ["failed"] * 2,
                   "both events marked failed")  # fmt: skip
        assert all(str(e).startswith("upstream error:") for _, e in stored_outcomes(proxy))
        assert [e["action"] for e in proxy.events()] == ["failed", "failed"]
        report = json.loads(proxy.cli("report", "--since", "1h", "--format", "json").stdout)
        assert report["totals"]["secrets"] == 0  # the key never left
        assert report["totals"]["bytes_out"] == 0
        assert report["totals"]["errors"] == 2
        wait_until(proxy, lambda: status(proxy).get("failed") == 2, "status counts failed")
    assert key_id not in proxy.log_path.read_text()

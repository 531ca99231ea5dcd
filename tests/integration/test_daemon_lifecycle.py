"""Background start, status, stop of the real daemon; refuses a second instance."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from egress_watch.paths import HomePaths
from tests.support.servers import free_port

pytestmark = pytest.mark.slow


def cli(home: HomePaths, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "egress_watch", "--home", str(home.home), *args],
        capture_output=True, text=True, timeout=90, check=False,
    )  # fmt: skip


def test_start_status_stop_in_the_background(ew_home: HomePaths) -> None:
    port = free_port()
    started = cli(ew_home, "start", "--listen-port", str(port))
    try:
        assert started.returncode == 0, started.stderr
        assert "egress-watch started" in started.stderr
        status = json.loads(cli(ew_home, "status", "--json").stdout)
        assert status["running"] is True
        assert status["listen_port"] == port
        assert ew_home.pidfile.read_text().strip() == str(status["pid"])
        assert (ew_home.confdir / "mitmproxy-ca.pem").stat().st_mode & 0o777 == 0o600
        assert ew_home.confdir.stat().st_mode & 0o777 == 0o700
        assert ew_home.database.stat().st_mode & 0o777 == 0o600
        again = cli(ew_home, "start", "--listen-port", str(free_port()))
        assert again.returncode == 1
        assert "already running" in again.stderr
    finally:
        stopped = cli(ew_home, "stop")
    assert stopped.returncode == 0
    assert f"stopped egress-watch (pid {status['pid']})" in stopped.stderr
    after = cli(ew_home, "status", "--json")
    assert after.returncode == 3
    assert json.loads(after.stdout)["running"] is False
    assert not ew_home.pidfile.exists()


def test_background_start_on_a_taken_port_fails_clearly(ew_home: HomePaths) -> None:
    import socket

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = cli(ew_home, "start", "--listen-port", str(port))
    assert result.returncode == 1
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr
    assert not ew_home.pidfile.exists()


def test_stale_pidfile_is_ignored(ew_home: HomePaths) -> None:
    ew_home.home.mkdir(parents=True)
    ew_home.pidfile.write_text("999999\n")
    assert cli(ew_home, "status", "--json").returncode == 3
    assert not ew_home.pidfile.exists()

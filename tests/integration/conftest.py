"""A real egress-watch proxy process in front of a local HTTPS upstream, reached via CONNECT."""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from egress_watch.paths import HomePaths
from tests.support.servers import (
    ConnectProxy,
    TestCA,
    UpstreamServer,
    free_port,
    make_test_ca,
    wait_for_port,
)


@dataclass
class RunningProxy:
    """A started ``egress-watch start --foreground`` and what a test needs to talk to it."""

    process: subprocess.Popen[bytes]
    port: int
    paths: HomePaths
    log_path: Path
    upstream: UpstreamServer
    connect_proxy: ConnectProxy
    test_ca: TestCA

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client_ssl_context(self) -> ssl.SSLContext:
        """A client that trusts egress-watch's CA from the data home, as a user would set up."""
        return ssl.create_default_context(cafile=self.paths.ca_cert)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "egress_watch", "--home", str(self.paths.home), *args],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip

    def events(self) -> list[dict[str, object]]:
        """Every recorded event, newest first (not only the CLI's default page)."""
        result = self.cli("events", "--json", "--limit", "100000")
        assert result.returncode == 0, result.stderr
        return [json.loads(line) for line in result.stdout.splitlines()]


def wait_until(
    proxy: RunningProxy, condition: Callable[[], bool], what: str, timeout: float = 30.0
) -> None:
    """Poll ``condition`` with a deadline, blocking on the daemon process between tries."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} within {timeout}s; log:\n{proxy.log_path.read_text()}")
        try:
            proxy.process.wait(timeout=0.1)
        except subprocess.TimeoutExpired:
            continue
        raise RuntimeError(f"daemon exited while waiting for {what}")


@pytest.fixture
def test_ca(tmp_path: Path) -> TestCA:
    return make_test_ca(tmp_path / "test-ca")


def _launch(
    ew_home: HomePaths, tunnel: ConnectProxy, log_path: Path, flags: tuple[str, ...]
) -> tuple[subprocess.Popen[bytes], int]:
    """Start the daemon on a free port; retry with another port if one was taken meanwhile.

    ``free_port`` can race with other processes on a busy machine (the port is free when asked
    for, taken by the time the daemon binds it); the daemon then exits with a clear error.
    """
    for _attempt in range(3):
        port = free_port()
        command = [
            sys.executable, "-m", "egress_watch", "--home", str(ew_home.home), "start",
            "--foreground", "--listen-port", str(port), "--upstream-proxy", tunnel.url,
            "--set", "ssl_insecure=true", *flags,
        ]  # fmt: skip
        with log_path.open("wb") as log_file:
            process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT)
        try:
            wait_for_port("127.0.0.1", port, timeout=60, process=process)
        except RuntimeError:
            if "already in use" in log_path.read_text(errors="replace"):
                continue
            raise RuntimeError(log_path.read_text(errors="replace")[-2000:]) from None
        return process, port
    raise RuntimeError(f"no free port after 3 attempts; see {log_path}")


@contextmanager
def start_proxy(
    tmp_path: Path,
    test_ca: TestCA,
    ew_home: HomePaths,
    *flags: str,
    upstream: ConnectProxy | None = None,
) -> Iterator[RunningProxy]:
    """Start upstream, CONNECT proxy and ``egress-watch start --foreground`` with ``flags``.

    ``upstream`` replaces the default HTTP/1.1 upstream and its tunnel (e.g. an HTTP/2 one).
    """
    with ExitStack() as stack:
        server = stack.enter_context(UpstreamServer(test_ca))
        tunnel = upstream or stack.enter_context(ConnectProxy(("127.0.0.1", server.port)))
        log_path = tmp_path / "proxy.log"
        process, port = _launch(ew_home, tunnel, log_path, flags)
        try:
            yield RunningProxy(process, port, ew_home, log_path, server, tunnel, test_ca)
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


@pytest.fixture
def running_proxy(tmp_path: Path, test_ca: TestCA, ew_home: HomePaths) -> Iterator[RunningProxy]:
    with start_proxy(tmp_path, test_ca, ew_home) as proxy:
        yield proxy

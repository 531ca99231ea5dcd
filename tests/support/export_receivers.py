"""Real receivers for export tests: a Debian rsyslogd and an HTTP endpoint (OTLP / webhook)."""

from __future__ import annotations

import http.server
import json
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.servers import free_port, wait_for_port

RSYSLOGD = shutil.which("rsyslogd") or ("/usr/sbin/rsyslogd" if Path("/usr/sbin/rsyslogd").exists()
                                        else None)  # fmt: skip
SD_UID = 'uid="'


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    """Re-check ``condition`` until it holds, failing with ``what`` after ``timeout`` seconds."""
    done = threading.Event()
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        done.wait(0.05)


class Rsyslog:
    """``rsyslogd -n`` with its own config in ``directory``: imtcp (or TLS) and omfile."""

    def __init__(self, directory: Path, tls: tuple[Path, Path, Path] | None = None) -> None:
        if RSYSLOGD is None:
            pytest.skip("rsyslogd is not installed (apt-get install rsyslog; .ci/run does)")
        if tls is not None and not list(Path("/usr/lib").glob("*/rsyslog/lmnsd_gtls.so")):
            pytest.skip("rsyslog's TLS driver is missing (apt-get install rsyslog-gnutls)")
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        (directory / "work").mkdir(exist_ok=True)
        self.port = free_port()
        self.output = directory / "received.log"
        self.pidfile = directory / "rsyslogd.pid"
        self.conf = directory / "rsyslog.conf"
        self.conf.write_text(self._config(tls))
        self.process: subprocess.Popen[bytes] | None = None

    def _config(self, tls: tuple[Path, Path, Path] | None) -> str:
        driver = ""
        module = 'module(load="imtcp")'
        if tls is not None:
            ca, cert, key = tls
            driver = (f'global(DefaultNetstreamDriver="gtls" DefaultNetstreamDriverCAFile="{ca}" '
                      f'DefaultNetstreamDriverCertFile="{cert}" '
                      f'DefaultNetstreamDriverKeyFile="{key}")\n')  # fmt: skip
            module = ('module(load="imtcp" StreamDriver.Name="gtls" StreamDriver.Mode="1" '
                      'StreamDriver.AuthMode="anon")')  # fmt: skip
        return (
            f'global(workDirectory="{self.directory / "work"}" maxMessageSize="64k")\n{driver}'
            f'{module}\ninput(type="imtcp" port="{self.port}" address="127.0.0.1")\n'
            f'*.* action(type="omfile" file="{self.output}" '
            'template="RSYSLOG_SyslogProtocol23Format")\n'
        )

    def start(self) -> None:
        """Start rsyslogd and wait until it accepts connections."""
        log = (self.directory / "rsyslogd.out").open("ab")
        self.process = subprocess.Popen(
            [str(RSYSLOGD), "-n", "-f", str(self.conf), "-i", str(self.pidfile)],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        log.close()
        wait_for_port("127.0.0.1", self.port, timeout=30, process=self.process)

    def stop(self) -> None:
        """SIGTERM (rsyslog writes what it has read) and wait for the exit."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None

    def lines(self) -> list[str]:
        try:
            return self.output.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []

    def uids(self) -> list[str]:
        """The event uids rsyslog stored, in arrival order (from the structured data)."""
        found = []
        for line in self.lines():
            start = line.find(SD_UID)
            if start >= 0:
                found.append(line[start + len(SD_UID) : line.index('"', start + len(SD_UID))])
        return found


@dataclass
class Received:
    """One request an HTTP receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes


class HttpReceiver:
    """A loopback HTTP server recording every POST; ``fail_next`` answers 503s first."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.fail_next = 0
        self._lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver._lock:
                    failing = receiver.fail_next > 0
                    receiver.fail_next -= int(failing)
                    if not failing:
                        receiver.requests.append(Received(self.path, dict(self.headers), body))
                self.send_response(503 if failing else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                return

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> HttpReceiver:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def snapshot(self) -> list[Received]:
        with self._lock:
            return list(self.requests)


def read_json_lines(path: Path) -> list[dict[str, Any]]:
    """Every record of a JSON lines export file (and its rotated predecessors, oldest first)."""
    files = sorted(path.parent.glob(path.name + ".*"), key=lambda p: -int(p.suffix[1:]))
    records = []
    for file in [*files, path]:
        if file.exists():
            records += [json.loads(line) for line in file.read_text().splitlines() if line]
    return records

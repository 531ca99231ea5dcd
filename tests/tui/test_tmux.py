"""The real ``egress-watch dashboard`` in a tmux pane: follow an alert to its detail, allowlist it.

This is the issue's "done when", end to end from the keyboard, read off the screen with
``tmux capture-pane``; every wait is a condition with a deadline.
"""

from __future__ import annotations

import os
import select
import shlex
import shutil
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from test_app import AWS, AWS_RAW, GITHUB_RAW, _event, _secret_event

from egress_watch.model import utc_iso
from egress_watch.paths import HomePaths
from egress_watch.store.writer import EventWriter

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]

DEADLINE_S = 30.0


class Pane:
    """One detached tmux session running a command at a fixed size.

    Everything the app draws is also piped (``tmux pipe-pane``) into a FIFO, so a wait blocks on
    "the screen changed" and only then reads the screen again.
    """

    def __init__(self, name: str, fifo: Path) -> None:
        self.name = name
        os.mkfifo(fifo)
        self._drawn = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # opened before tmux writes
        subprocess.run(
            ["tmux", "pipe-pane", "-o", "-t", name, f"cat > {shlex.quote(str(fifo))}"],
            check=True, timeout=10,
        )  # fmt: skip

    def close(self) -> None:
        os.close(self._drawn)

    def _wait_for_drawing(self, timeout: float) -> None:
        """Block until the app writes to its terminal again (or ``timeout`` passes)."""
        ready, _, _ = select.select([self._drawn], [], [], max(timeout, 0))
        if ready:
            while True:  # drain what was drawn; only the fact that it changed matters
                try:
                    if not os.read(self._drawn, 65536):
                        break
                except BlockingIOError:
                    break

    def keys(self, *keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True, timeout=10)

    def text(self) -> str:
        """The pane's text now; empty once the session ended (the app quit)."""
        result = subprocess.run(
            ["tmux", "capture-pane", "-p", "-t", self.name],
            capture_output=True, text=True, check=False, timeout=10,
        )  # fmt: skip
        return result.stdout if result.returncode == 0 else ""

    def wait_for(self, condition: Callable[[str], bool], what: str) -> str:
        """Poll the screen until ``condition`` holds; fail showing the last screen."""
        deadline = time.monotonic() + DEADLINE_S
        screen = ""
        while time.monotonic() < deadline:
            screen = self.text()
            if condition(screen):
                return screen
            self._wait_for_drawing(deadline - time.monotonic())
        raise AssertionError(f"timed out waiting for {what}; screen was:\n{screen}")


@pytest.fixture
def seeded_home(tmp_path: Path) -> HomePaths:
    paths = HomePaths(tmp_path / "home")
    paths.home.mkdir(mode=0o700)
    now = datetime.now(UTC)
    writer = EventWriter(paths.database)
    try:
        writer.write(_event(now - timedelta(minutes=2)))
        writer.write(replace(_secret_event(now - timedelta(minutes=1)), timestamp=utc_iso(now)))
    finally:
        writer.close()
    return paths


@pytest.fixture
def pane(seeded_home: HomePaths) -> Iterator[Pane]:
    name = f"ew-test-{uuid.uuid4().hex[:8]}"
    command = f"{sys.executable} -m egress_watch --home {seeded_home.home} dashboard"
    env = {**os.environ, "TERM": "xterm-256color"}
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", name, "-x", "100", "-y", "30", command],
        check=True, timeout=10, env=env,
    )  # fmt: skip
    pane = Pane(name, seeded_home.home.parent / f"{name}.fifo")
    try:
        yield pane
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], check=False, timeout=10)
        pane.close()


def test_follow_an_alert_to_its_detail_and_allowlist_it(pane: Pane, seeded_home: HomePaths) -> None:
    feed = pane.wait_for(lambda s: "aws-access-key" in s and "blocked" in s, "the feed")
    assert "daemon not running" in feed
    assert AWS_RAW not in feed

    pane.keys("Enter")
    detail = pane.wait_for(lambda s: "Acknowledge" in s and "claude (pid 4242)" in s, "detail")
    assert AWS.masked.split(" ")[0] in detail
    for raw in (AWS_RAW, GITHUB_RAW):
        assert raw not in detail

    pane.keys("w")
    pane.wait_for(lambda s: "Allowlist aws-access-key" in s, "the confirmation")
    pane.keys("test fixture key", "Enter")
    pane.wait_for(lambda s: "allowlisted: test fixture key" in s, "the allowlisted state")
    with sqlite3.connect(seeded_home.database) as conn:
        rows = conn.execute("SELECT fingerprint, reason FROM allowlist").fetchall()
    assert rows == [(AWS.fingerprint, "test fixture key")]

    pane.keys("Escape")
    pane.wait_for(lambda s: "live feed" in s and "Detail" in s, "the feed again")
    pane.keys("q")
    pane.wait_for(lambda s: "live feed" not in s, "the app to exit")

"""daemon.log: written by the background daemon, rotated by size into a few private files."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
from pathlib import Path

import pytest

from egress_watch.capture.daemon import LOG_BACKUPS, rotating_log_handler
from egress_watch.paths import HomePaths
from tests.support.servers import free_port


def test_log_rotates_by_size_and_keeps_a_few_private_files(tmp_path: Path) -> None:
    log_path = tmp_path / "daemon.log"
    handler = rotating_log_handler(log_path, max_bytes=2000, backups=LOG_BACKUPS)
    logger = logging.getLogger("egress_watch.test_rotation")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        for i in range(400):
            logger.warning("line %04d %s", i, "x" * 40)
    finally:
        logger.removeHandler(handler)
        handler.close()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["daemon.log"] + [f"daemon.log.{n}" for n in range(1, LOG_BACKUPS + 1)]
    for path in tmp_path.iterdir():
        assert path.stat().st_size <= 2000
        assert path.stat().st_mode & 0o777 == 0o600
    assert "line 0399" in log_path.read_text()  # newest in the live file, oldest dropped
    assert "line 0000" not in "".join(p.read_text() for p in tmp_path.iterdir())


@pytest.mark.slow
def test_background_daemon_logs_through_the_rotating_handler(ew_home: HomePaths) -> None:
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "egress_watch", "--home", str(ew_home.home), *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=90, check=False)

    started = cli("start", "--listen-port", str(free_port()))
    try:
        assert started.returncode == 0, started.stderr
    finally:
        assert cli("stop").returncode == 0
    text = ew_home.log.read_text()
    stamp = r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} "
    line = re.compile(
        stamp + r"INFO egress_watch\.capture\.addon: egress-watch: recording to ", re.M
    )
    assert line.search(text), text
    assert ew_home.log.stat().st_mode & 0o777 == 0o600

"""Read-only commands on a read-only data home (a real read-only bind mount in a private mount
namespace): history and reports still read, and nothing is written."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from egress_watch.paths import HomePaths
from egress_watch.workstation.home import prepare_home
from tests.support.report_seed import seed_week

pytestmark = pytest.mark.slow


def can_unshare() -> bool:
    probe = subprocess.run(["unshare", "--mount", "true"], capture_output=True, check=False)
    return probe.returncode == 0


def test_events_and_report_work_on_a_read_only_home(tmp_path: Path, ew_home: HomePaths) -> None:
    if not can_unshare():
        pytest.skip("unshare --mount is not permitted here, so no read-only mount can be made")
    prepare_home(ew_home)
    seed_week(ew_home)
    before = sorted(p.name for p in ew_home.home.iterdir())
    home = shlex.quote(str(ew_home.home))
    ew = f"{shlex.quote(sys.executable)} -m egress_watch --home {home}"
    out = shlex.quote(str(tmp_path))
    script = f"""
set -e
mount --bind {home} {home}
mount -o remount,bind,ro {home}
if touch {home}/probe 2>/dev/null; then echo "the mount is writable" >&2; exit 9; fi
{ew} events --json > {out}/events.json
{ew} report --since 400d --format json > {out}/report.json
"""
    result = subprocess.run(["unshare", "--mount", "--propagation", "private", "bash", "-c",
                             script], capture_output=True, text=True, timeout=120,
                            check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in (tmp_path / "events.json").read_text().splitlines()]
    assert events, "the seeded history must be listed"
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["totals"]["requests"] > 0
    assert sorted(p.name for p in ew_home.home.iterdir()) == before

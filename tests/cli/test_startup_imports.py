"""Commands that do not index start without the index's modules and without numpy (about
0.15 s to import, there for the code index's bulk indexing only)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = """
import json, sys
from egress_watch.cli.main import cli
try:
    cli(sys.argv[1:], prog_name="egress-watch")
except SystemExit:
    pass
heavy = [m for m in sys.modules if m.split(".")[0] == "numpy"
         or m.startswith("egress_watch.classify.proprietary.")]
print(json.dumps(sorted(heavy)), file=sys.stderr)
"""


def _loaded_by(home: Path, *args: str) -> list[str]:
    """The heavy modules a fresh process loaded to run ``egress-watch ARGS``."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, "--home", str(home), *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    loaded: list[str] = json.loads(done.stderr.strip().splitlines()[-1])
    return loaded


@pytest.mark.parametrize("args", [("--help",), ("status",), ("events", "--json")])
def test_commands_that_do_not_index_leave_numpy_and_the_index_out(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    assert _loaded_by(tmp_path / "home", *args) == []


def test_the_history_writer_leaves_numpy_out() -> None:
    """The daemon records events through the writer: sqlite-utils must not pull numpy in."""
    code = (
        "import sys; import egress_watch.store.writer, egress_watch.store.dashboard; "
        "print('numpy' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "False"

"""The README's quick start, command by command, in a clean HOME: what a newcomer types works.

The only change to the README's lines: ``egress-watch start`` gets a free ``--listen-port``
(8080 may be taken on a shared machine). uv's package cache is shared so nothing is downloaded
again; everything else (data home, ~/.local/bin, shell state) starts empty.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.servers import free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def quick_start_commands() -> list[str]:
    """The command lines of the first ``sh`` block under "## Quick start"."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Quick start") :]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert block is not None, "the quick start has no sh block"
    return [
        line.strip()
        for line in block.group(1).splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]


def system_python() -> str | None:
    """The ``python3.12`` a newcomer's shell finds: the PATH minus the test run's virtualenv."""
    outside = [
        entry for entry in os.environ.get("PATH", "").split(os.pathsep)
        if entry and not Path(entry).resolve().is_relative_to(Path(sys.prefix).resolve())
    ]  # fmt: skip
    return shutil.which("python3.12", path=os.pathsep.join(outside))


def test_the_quick_start_puts_egress_watch_on_path_and_the_demo_shows_an_event(
    tmp_path: Path,
) -> None:
    commands = quick_start_commands()
    assert any(c.startswith("egress-watch demo") for c in commands)
    python = system_python()
    if python is None:
        pytest.skip("python3.12 is not on PATH (outside this virtualenv)")
    home = tmp_path / "home"
    home.mkdir()
    port = free_port()
    env = {
        "HOME": str(home),
        "PATH": os.pathsep.join([str(home / ".local" / "bin"), str(Path(python).parent),
                                 "/usr/local/bin", "/usr/bin", "/bin"]),
        "UV_CACHE_DIR": os.environ.get("UV_CACHE_DIR") or str(Path.home() / ".cache" / "uv"),
        "LANG": "C.UTF-8",
    }  # fmt: skip
    if "PYENV_ROOT" in os.environ or (Path.home() / ".pyenv").is_dir():
        env["PYENV_ROOT"] = os.environ.get("PYENV_ROOT") or str(Path.home() / ".pyenv")
    script = "\n".join(
        ["set -e", *(re.sub(r"^egress-watch start\b", f"egress-watch start --listen-port {port}", c)
                     for c in commands)]
    )  # fmt: skip
    try:
        done = subprocess.run(
            ["bash", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
            timeout=240, check=False,
        )  # fmt: skip
    finally:
        subprocess.run(["bash", "-c", "egress-watch stop"], env=env, cwd=ROOT,
                       capture_output=True, timeout=60, check=False)  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert (home / ".local" / "bin" / "egress-watch").exists()
    assert "recorded event" in done.stdout
    assert re.search(r"egress-watch-demo\s+pass\s+POST canary\.egress-watch\.invalid", done.stdout)
    assert "stopped egress-watch" in output
    assert (home / ".local" / "share" / "egress-watch" / "history.db").exists()  # a clean HOME

"""Packaging and import hygiene: what a user installs, and which layers may import what."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


@pytest.mark.slow
def test_wheel_ships_packages_and_data_without_bare_top_level_names(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(tmp_path)],
        cwd=ROOT, check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/")[0] for name in names if not name.startswith("egress_watch-")}
    assert top_level == {"egress_watch", "egress_watch_tui"}
    assert "egress_watch/data/services.toml" in names
    assert any(name.startswith("egress_watch_tui/") and name.endswith(".tcss") for name in names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert (
        "egress-watch = egress_watch.cli.main:main"
        in zipfile.ZipFile(wheel).read(entry_points).decode()
    )


def modules_loaded_by(statement: str) -> set[str]:
    code = f"import json, sys; {statement}; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    return {name.split(".")[0] for name in json.loads(result.stdout)}


@pytest.mark.parametrize(
    "module",
    [
        "egress_watch.model",
        "egress_watch.catalog.services",
        "egress_watch.extract",
        "egress_watch.classify.engine",
        "egress_watch.decide.policy",
        "egress_watch.pipeline",
        "egress_watch.decide.rewrite",
    ],
)
def test_core_imports_neither_mitmproxy_textual_nor_click(module: str) -> None:
    loaded = modules_loaded_by(f"import {module}")
    assert not loaded & {"mitmproxy", "textual", "click"}


def test_addon_path_never_imports_textual() -> None:
    loaded = modules_loaded_by("import egress_watch.capture.addon")
    assert "mitmproxy" in loaded
    assert "textual" not in loaded


def test_cli_startup_does_not_import_the_proxy_or_the_dashboard() -> None:
    loaded = modules_loaded_by("import egress_watch.cli.main")
    assert not loaded & {"mitmproxy", "textual"}

"""tools/restructure.py rewrites code written against the old flat layout onto the stage
packages, and leaves new code and non-module names alone (the lead re-runs it after merges)."""

from __future__ import annotations

import importlib

from tests.support.own_code import PACKAGE, ROOT, restructure_tool

OLD_STYLE = """\
from __future__ import annotations

from egress_watch import daemon, jsonsafe as js, __version__
from egress_watch.cli import (
    EXIT_ERROR,
    cli,
    current_paths,
)
from egress_watch.proprietary.index import add_repo, open_index
from egress_watch.proprietary.postings import Reader, count
from egress_watch.settings import DEFAULT_CONFIG, Settings
from egress_watch.report.data import ReportData, build_report
import egress_watch.proxy
from egress_watch.proxy import CREDENTIAL_HEADERS, EgressWatch, Stats

ADDON = egress_watch.proxy.EgressWatch
SOURCE = "see egress_watch/commands/index.py and egress_watch/redact.py"
META = ctx.meta["egress_watch.home"]
SCOPE = "egress_watch.export"
LOGGED = re.compile(r"INFO egress_watch\\.proxy: ")
"""

NEW_STYLE = """\
from __future__ import annotations

from egress_watch.capture import daemon
from egress_watch.decoding import jsonsafe as js
from egress_watch import __version__
from egress_watch.cli.options import EXIT_ERROR, current_paths
from egress_watch.cli.main import cli
from egress_watch.classify.proprietary.repos import add_repo
from egress_watch.classify.proprietary.index import open_index
from egress_watch.classify.proprietary.postings_reader import Reader
from egress_watch.classify.proprietary.postings import count
from egress_watch.config.defaults import DEFAULT_CONFIG
from egress_watch.config.settings import Settings
from egress_watch.report.contents import ReportData
from egress_watch.report.data import build_report
import egress_watch.capture.addon
from egress_watch.capture.flows import CREDENTIAL_HEADERS
from egress_watch.capture.addon import EgressWatch
from egress_watch.capture.health import Stats

ADDON = egress_watch.capture.addon.EgressWatch
SOURCE = "see egress_watch/cli/index.py and egress_watch/masking.py"
META = ctx.meta["egress_watch.home"]
SCOPE = "egress_watch.export"
LOGGED = re.compile(r"INFO egress_watch\\.capture\\.addon: ")
"""


def test_old_imports_paths_and_split_names_land_on_the_new_modules() -> None:
    assert restructure_tool().rewrite_text(OLD_STYLE) == NEW_STYLE


def test_running_it_again_changes_nothing() -> None:
    assert restructure_tool().rewrite_text(NEW_STYLE) == NEW_STYLE


def test_every_module_the_map_points_to_exists() -> None:
    restructure = restructure_tool()
    targets = set(restructure.MODULE_MAP.values()) | {
        module
        for default, moved in restructure.SPLITS.values()
        for module in (default, *moved.values())
    }
    for module in sorted(targets):
        importlib.import_module(module)


def test_no_file_is_left_at_an_old_path() -> None:
    assert restructure_tool().planned_moves() == []
    assert (ROOT / "tools" / "restructure.py").is_file()
    assert not (PACKAGE / "commands").exists()

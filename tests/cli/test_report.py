"""``egress-watch report`` end to end: the weekly job's own command line, windows, files, errors."""

from __future__ import annotations

import json
import os
import shlex
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from egress_watch.cli.main import cli
from egress_watch.model import Action, Event, utc_iso
from egress_watch.paths import HomePaths
from egress_watch.store.writer import EventWriter
from egress_watch.workstation import install
from egress_watch.workstation.home import prepare_home
from tests.support.report_seed import EXPECTED, PLANTED, WEEK, seed_week

WEEK_ARGS = ["--from", WEEK[0], "--to", WEEK[1]]


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def recent_events(home: HomePaths, ages_h: list[int]) -> None:
    prepare_home(home)
    writer = EventWriter(home.database)
    now = datetime.now(UTC)
    for age in ages_h:
        ts = utc_iso(now - timedelta(hours=age))
        writer.write(Event(ts, "openai", "f", "api.openai.com", "POST", "/v1/x", 10, Action.PASS))
    writer.close()


def test_the_weekly_job_command_line_writes_a_private_markdown_report(ew_home: HomePaths) -> None:
    """Run exactly what `egress-watch install` puts in the systemd unit."""
    recent_events(ew_home, [1, 30, 24 * 8])  # two this week, one the week before
    unit = install.render_report_service(["egress-watch"], str(ew_home.home))
    exec_line = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    argv = shlex.split(exec_line.removeprefix("ExecStart="))[1:]
    code, _, err = invoke(*argv)
    assert code == 0
    written = Path(install.report_output(str(ew_home.home)))
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    page = written.read_text()
    assert page.startswith("# egress-watch exposure report")
    assert "| Requests inspected | 2 | 1 | +1 |" in page
    assert f"report written to {written}" in err
    assert not list(written.parent.glob(".*.tmp"))


@pytest.mark.parametrize("fmt", ["text", "md", "html", "json"])
def test_each_format_on_standard_output(ew_home: HomePaths, fmt: str) -> None:
    seed_week(ew_home)
    code, out, _ = invoke("report", *WEEK_ARGS, "--format", fmt)
    assert code == 0
    if fmt == "json":
        assert json.loads(out)["totals"] == EXPECTED["totals"]
    else:
        assert "Requests inspected" in out
        assert "openai-project-key" in out
    for value in PLANTED:
        assert value not in out


def test_default_window_is_the_last_seven_days(ew_home: HomePaths) -> None:
    recent_events(ew_home, [2, 24 * 6, 24 * 7 + 2])
    code, out, _ = invoke("report", "--format", "json")
    assert code == 0
    doc = json.loads(out)
    assert (doc["totals"]["requests"], doc["previous_totals"]["requests"]) == (2, 1)
    code, out, _ = invoke("report", "--since", "1d", "--format", "json")
    assert json.loads(out)["totals"]["requests"] == 1


def test_html_to_a_new_folder(ew_home: HomePaths, tmp_path: Path) -> None:
    seed_week(ew_home)
    target = tmp_path / "out" / "week.html"
    code, _, _ = invoke("report", *WEEK_ARGS, "--format", "html", "--output", str(target))
    assert code == 0
    assert target.read_text().startswith("<!doctype html>")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_no_history_yet_is_an_empty_report_not_an_error(ew_home: HomePaths) -> None:
    code, out, _ = invoke("report", "--format", "md")
    assert code == 0
    assert "0 requests inspected" in out
    assert "Nothing critical is unacknowledged." in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "7d", "--from", "2026-11-01"], "either --since or --from"),
        (["--to", "2026-11-01"], "--to needs --from"),
        (["--since", "last week"], "expected a duration"),
        (["--from", "2026-11-20", "--to", "2026-11-10"], "empty"),
        (["--format", "pdf"], "pdf"),
    ],
)
def test_bad_options_are_usage_errors(args: list[str], message: str) -> None:
    code, _, err = invoke("report", *args)
    assert code == 2
    assert message in err


def test_the_weekly_job_notifies_with_totals_and_never_a_value(
    ew_home: HomePaths, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--notify` runs the desktop notifier found on PATH (here a script that records its args)."""
    recent_events(ew_home, [1, 30])
    record = tmp_path / "notify-args.txt"
    fake = tmp_path / "bin" / "notify-send"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {record}\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}:{os.environ['PATH']}")
    unit = install.render_report_service(["egress-watch"], str(ew_home.home))
    exec_line = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    argv = shlex.split(exec_line.removeprefix("ExecStart="))[1:]
    assert argv[-1] == "--notify"
    code, _, _ = invoke(*argv)
    assert code == 0
    sent = record.read_text()
    assert "egress-watch weekly exposure report" in sent
    assert "2 requests" in sent
    assert install.report_output(str(ew_home.home)) in sent
    for value in PLANTED:
        assert value not in sent

"""The dashboard, driven through Pilot against a real history database seeded by EventWriter."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from textual.geometry import Region
from textual.message import Message
from textual.notifications import Notify
from textual.pilot import Pilot
from textual.widget import Widget
from textual.worker import Worker, WorkerState

from egress_watch.masking import fingerprint, mask
from egress_watch.model import (
    Action,
    Category,
    Event,
    Finding,
    ProcessInfo,
    Severity,
    utc_iso,
)
from egress_watch.store.writer import EventWriter
from egress_watch_tui.app import EgressWatchApp, make_app
from egress_watch_tui.messages import EventsFetched, HistoryMissing
from egress_watch_tui.screens import HelpScreen
from egress_watch_tui.widgets import event_table

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 5, 4, 17, 0, tzinfo=UTC)  # 12:00 local, with conftest's UTC-5
KEY = b"tui-test-key"
POLL = 0.05
DEADLINE_S = 10.0

RUNNING = {
    "running": True,
    "pid": 4242,
    "listen_host": "127.0.0.1",
    "listen_port": 8080,
    "mode": "monitor",
    "requests": 1234,
    "events": 12,
    "errors": 0,
    "uptime_s": 7384.0,
}
STOPPED = {"running": False, "pid": None}

# Fake values, assembled at runtime so the repository holds nothing that looks live.
AWS_RAW = "AKIA" + "TUIX" + "FAKE" + "ONLY" + "9Z8Y"
GITHUB_RAW = "ghp_" + "tuifake" * 5 + "x"
EMAIL_RAW = "someone" + "@" + "example.test"


def _finding(
    category: Category,
    rule: str,
    severity: Severity,
    raw: str,
    *,
    role: str = "user",
    message_index: int | None = 0,
    reason: str = "",
) -> Finding:
    return Finding(
        category=category,
        rule=rule,
        severity=severity,
        start=0,
        end=len(raw),
        masked=mask(raw),
        fingerprint=fingerprint(KEY, raw),
        reason=reason,
        role=role,
        message_index=message_index,
    )


AWS = _finding(
    Category.SECRET, "aws-access-key", Severity.CRITICAL, AWS_RAW, message_index=4,
    reason="AWS access key id",
)  # fmt: skip
GITHUB = _finding(
    Category.SECRET, "github-token", Severity.HIGH, GITHUB_RAW, role="tool", message_index=5,
    reason="GitHub personal access token",
)  # fmt: skip
CLAUDE = ProcessInfo(
    pid=4242, name="claude", exe="/usr/bin/node", parents=("node", "zsh"), cwd="/src/shop",
    repo="shop",
)  # fmt: skip
EMAIL = _finding(Category.PII, "email", Severity.LOW, EMAIL_RAW, reason="email address")


def _event(
    at: datetime,
    findings: tuple[Finding, ...] = (),
    *,
    service: str = "openai",
    host: str = "api.openai.com",
    path: str = "/v1/chat/completions",
    action: Action = Action.PASS,
) -> Event:
    return Event(
        timestamp=utc_iso(at),
        service=service,
        family="openai-chat",
        host=host,
        method="POST",
        path=path,
        bytes_out=512,
        action=action,
        findings=findings,
        segment_count=2,
    )


def _secret_event(at: datetime) -> Event:
    return replace(
        _event(
            at, (AWS, GITHUB), service="anthropic", host="api.anthropic.com",
            path="/v1/messages", action=Action.BLOCK,
        ),
        model="claude-sonnet-4",
        process=CLAUDE,
        jurisdictions=("US",),
        region="global",
    )  # fmt: skip


def _app(database: Path, status: dict[str, Any] | None = None) -> EgressWatchApp:
    reported = RUNNING if status is None else status
    return make_app(database, lambda: reported, poll_interval=POLL, clock=lambda: NOW)


async def wait_for(pilot: Pilot[None], condition: Callable[[], bool], what: str) -> None:
    """Let the app run until ``condition`` holds; fail after DEADLINE_S instead of hanging."""
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause()


def rows(app: EgressWatchApp) -> list[list[str]]:
    table = app.event_table
    return [[str(cell) for cell in table.get_row_at(index)] for index in range(table.row_count)]


def shown_text(widget: Widget) -> str:
    """The text a widget draws right now, as plain lines."""
    width, height = widget.outer_size
    return "\n".join(strip.text for strip in widget.render_lines(Region(0, 0, width, height)))


async def test_feed_lists_events_newest_first_with_their_cells(
    database: Path, writer: EventWriter
) -> None:
    writer.write(_event(datetime(2025, 11, 3, 17, 0, tzinfo=UTC)))
    writer.write(_event(NOW - timedelta(days=40)))
    writer.write(_secret_event(NOW - timedelta(minutes=2)))
    qwen = ProcessInfo(pid=77, name="node", exe="/usr/bin/node", tool="qwen")
    writer.write(replace(_event(NOW - timedelta(minutes=1), (EMAIL,)), process=qwen))

    app = _app(database)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.event_table.row_count == 4, "the four seeded rows")

        assert rows(app) == [  # the tool, not its runtime (node)
            ["11:59:00", "qwen", "openai", "1 pii: email", "low", "passed",
             "api.o…/v1/chat/completions"],
            ["11:58:00", "claude", "anthropic", "2 secret: aws-access-key, github-token",
             "critical", "blocked", "api.anthropic…/v1/messages"],
            ["25 Mar", "—", "openai", "—", "—", "passed", "api.o…/v1/chat/completions"],
            ["Nov 2025", "—", "openai", "—", "—", "passed", "api.o…/v1/chat/completions"],
        ]  # fmt: skip
        severity = app.event_table.get_row_at(1)[4]
        assert str(getattr(severity, "style", "")) == "bold red"
        assert str(getattr(app.event_table.get_row_at(0)[4], "style", "")) == "dim"
        assert app.event_table.highlighted_id == 4


async def test_new_event_goes_on_top_and_the_cursor_keeps_its_event(
    database: Path, writer: EventWriter
) -> None:
    for minutes in (3, 2, 1):
        writer.write(_event(NOW - timedelta(minutes=minutes), (EMAIL,)))
    seen: list[Message] = []

    app = _app(database)
    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        table = app.event_table
        await wait_for(pilot, lambda: table.row_count == 3, "the seeded rows")
        await pilot.press("down")
        assert table.highlighted_id == 2

        new_id = writer.write(_secret_event(NOW))
        await wait_for(pilot, lambda: table.row_count == 4, "the event written after start")

        assert [row[0] for row in rows(app)] == ["12:00:00", "11:59:00", "11:58:00", "11:57:00"]
        assert table.highlighted_id == 2
        assert table.cursor_row == 2
        assert app.findings_pane.event is not None
        assert app.findings_pane.event["id"] == 2
        delivering = [m for m in seen if isinstance(m, EventsFetched) and m.events]
        assert [event["id"] for event in delivering[-1].events] == [new_id]
        assert delivering[-1].after_id == 3


async def test_oldest_rows_are_dropped_beyond_the_cap_but_never_the_highlighted_one(
    database: Path, writer: EventWriter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(event_table, "MAX_ROWS", 3)
    for minutes in (3, 2, 1):
        writer.write(_event(NOW - timedelta(minutes=minutes)))

    app = _app(database)
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.event_table
        await wait_for(pilot, lambda: table.row_count == 3, "the seeded rows")
        await pilot.press("end")
        assert table.highlighted_id == 1

        writer.write(_event(NOW))
        await wait_for(pilot, lambda: table.highest_id == 4, "the new event")

        assert [row[0] for row in rows(app)] == ["12:00:00", "11:59:00", "11:57:00"]
        assert table.highlighted_id == 1


async def test_resizing_refits_columns_and_keeps_the_cursors_event(
    database: Path, writer: EventWriter
) -> None:
    for minutes in (3, 2, 1):
        writer.write(_secret_event(NOW - timedelta(minutes=minutes)))

    app = _app(database)
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.event_table
        await wait_for(pilot, lambda: table.row_count == 3, "the seeded rows")
        await pilot.press("down")
        assert "target" in table.columns

        await pilot.resize_terminal(80, 24)
        await wait_for(pilot, lambda: "target" not in table.columns, "the narrow column set")
        await pilot.pause()

        assert table.highlighted_id == 2
        assert app.findings_pane.event is not None
        assert app.findings_pane.event["id"] == 2
        assert table.max_scroll_x == 0


async def test_detail_pane_shows_only_the_highlighted_events_redacted_findings(
    database: Path, writer: EventWriter
) -> None:
    writer.write(_secret_event(NOW - timedelta(minutes=2)))
    writer.write(_event(NOW - timedelta(minutes=1), (EMAIL,)))

    app = _app(database)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.event_table.row_count == 2, "the seeded rows")
        body = app.findings_pane.body
        await wait_for(pilot, lambda: EMAIL.masked in shown_text(body), "the email finding")
        text = shown_text(body)
        assert "email address" in text
        assert EMAIL.fingerprint.removeprefix("hmac-sha256:")[:4] in text
        for absent in (AWS.masked, GITHUB.masked, "aws-access-key", "github-token"):
            assert absent not in text

        await pilot.press("down")
        await wait_for(pilot, lambda: AWS.masked in shown_text(body), "the secret findings")
        text = shown_text(body)
        for present in (
            "aws-access-key", "critical", GITHUB.masked, "github-token", "high",
            "tool, message 5", "user, message 4", "AWS access key id",
        ):  # fmt: skip
            assert present in text
        for absent in (EMAIL.masked, "email address", AWS.fingerprint, GITHUB.fingerprint):
            assert absent not in text
        for raw in (AWS_RAW, GITHUB_RAW, EMAIL_RAW):
            assert raw not in text
            assert raw not in shown_text(app.event_table)


async def test_empty_state_until_the_database_appears(database: Path) -> None:
    seen: list[Message] = []
    app = _app(database)
    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        await wait_for(pilot, lambda: app.feed_state == "missing", "the missing-history state")
        assert any(isinstance(message, HistoryMissing) for message in seen)
        assert not app.event_table.display
        assert "No events yet" in shown_text(app.empty_state)

        writer = EventWriter(database)
        try:
            writer.write(_event(NOW - timedelta(minutes=1), (EMAIL,)))
            await wait_for(pilot, lambda: app.event_table.row_count == 1, "the first event")
        finally:
            writer.close()
        assert app.feed_state == "ready"
        assert app.event_table.display
        assert not app.empty_state.display


async def test_empty_database_says_no_events_yet(database: Path, writer: EventWriter) -> None:
    app = _app(database)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.feed_state == "empty", "the empty state")
        assert "No events yet" in shown_text(app.empty_state)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (RUNNING, ["daemon running on 127.0.0.1:8080", "1,234 requests", "12 events"]),
        (STOPPED, ["daemon not running — start it with `egress-watch start`"]),
    ],
    ids=["running", "stopped"],
)
async def test_status_line(
    database: Path, writer: EventWriter, status: dict[str, Any], expected: list[str]
) -> None:
    app = _app(database, status)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.daemon_status == status, "the status read")
        await pilot.pause()
        line = shown_text(app.status_line)
        for part in expected:
            assert part in line


async def test_help_opens_with_question_mark_and_closes_with_escape(
    database: Path, writer: EventWriter
) -> None:
    writer.write(_event(NOW))
    app = _app(database)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.event_table.row_count == 1, "the seeded row")
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), "the help screen")
        help_text = "\n".join(shown_text(widget) for widget in app.screen.query("Static"))
        for key_help in ("Quit the dashboard", "Read new events", "Move between events"):
            assert key_help in help_text
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, HelpScreen), "the help to close")
        assert app.focused is app.event_table


async def test_fits_an_80_by_24_terminal(database: Path, writer: EventWriter) -> None:
    writer.write(_secret_event(NOW - timedelta(minutes=1)))
    writer.write(_event(NOW, (EMAIL,)))
    app = _app(database)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.event_table.row_count == 2, "the seeded rows")
        await pilot.pause()
        table = app.event_table
        assert table.max_scroll_x == 0, "columns must fit without horizontal scrolling"
        assert app.findings_pane.region.height > 0
        assert "1 pii: email" in shown_text(table)
        assert "2 secret: aws-access-key" in shown_text(table)
        assert "daemon running on 127.0.0.1:8080" in shown_text(app.status_line)
        assert app.export_screenshot()


async def test_read_errors_notify_once_and_polling_goes_on(database: Path) -> None:
    database.write_bytes(b"this is not a sqlite database, just bytes " * 20)
    seen: list[Message] = []

    def broken_status() -> dict[str, Any]:
        raise OSError("status file unreadable")

    app = make_app(database, broken_status, poll_interval=POLL, clock=lambda: NOW)
    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:

        def failures() -> int:
            return sum(
                1
                for m in seen
                if isinstance(m, Worker.StateChanged)
                and m.state is WorkerState.ERROR
                and m.worker.group == "db"
            )

        await wait_for(pilot, lambda: failures() >= 3, "three failed reads")
        notes = [m.notification for m in seen if isinstance(m, Notify)]
        history = [n for n in notes if n.title == "Cannot read the history"]
        status = [n for n in notes if n.title == "Cannot read the daemon status"]
        assert len(history) == 1
        assert history[0].severity == "error"
        assert "cannot read history database" in history[0].message
        assert len(status) == 1
        assert "status file unreadable" in status[0].message
        assert app.feed_state == "unreadable"
        await pilot.pause()
        assert "file is not a database" in " ".join(shown_text(app.empty_state).split())
        assert app.is_running


def test_importing_the_app_does_not_load_mitmproxy() -> None:
    code = (
        "import sys, egress_watch_tui.app\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'mitmproxy')\n"
        "print(','.join(loaded))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == ""

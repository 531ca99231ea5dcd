"""The dashboard's flows through Pilot: filter and search, page back, detail, triage, overview."""

from __future__ import annotations

import sqlite3
import sys
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from test_app import (
    AWS,
    AWS_RAW,
    EMAIL,
    GITHUB,
    GITHUB_RAW,
    NOW,
    POLL,
    RUNNING,
    STOPPED,
    _app,
    _event,
    _secret_event,
    shown_text,
    wait_for,
)
from textual.widgets import Static

from egress_watch.model import Action
from egress_watch.store.writer import EventWriter
from egress_watch_tui import app as app_module
from egress_watch_tui.app import make_app
from egress_watch_tui.filters import FeedFilter
from egress_watch_tui.screens import EventDetailScreen, OverviewScreen, PromptScreen

pytestmark = pytest.mark.anyio


def screen_text(app: object) -> str:
    """Everything the active screen draws in its Static widgets and tables, as plain text."""
    screen = app.screen  # type: ignore[attr-defined]
    return "\n".join(shown_text(widget) for widget in screen.query("Static, DataTable"))


def _seed(writer: EventWriter) -> None:
    writer.write(_event(NOW - timedelta(minutes=3)))
    writer.write(_secret_event(NOW - timedelta(minutes=2)))
    writer.write(_event(NOW - timedelta(minutes=1), (EMAIL,), service="copilot"))


async def test_typed_filter_narrows_the_feed_shows_itself_and_clears(
    database: Path, writer: EventWriter
) -> None:
    _seed(writer)
    app = _app(database)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.event_table.row_count == 3, "the seeded rows")

        await pilot.press("slash")
        assert app.focused is app.filter_bar.input
        await pilot.press(*"sev:critical", "enter")
        await wait_for(pilot, lambda: app.event_table.row_count == 1, "the filtered feed")
        assert app.feed_filter.severity is not None
        assert app.focused is app.event_table
        assert "severity:critical" in shown_text(app.filter_bar.summary)

        new_id = writer.write(_secret_event(NOW))
        writer.write(_event(NOW, (EMAIL,)))
        await wait_for(pilot, lambda: app.event_table.highest_id == new_id, "a live match")
        await pilot.pause()
        assert app.event_table.row_count == 2, "live events are filtered too"

        await pilot.press("x")
        await wait_for(pilot, lambda: app.event_table.row_count == 5, "every event again")
        assert app.feed_filter == FeedFilter()
        assert "no filters" in shown_text(app.filter_bar.summary)


async def test_free_text_matches_rules_and_keys_cycle_severity(
    database: Path, writer: EventWriter
) -> None:
    _seed(writer)
    app = _app(database)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.event_table.row_count == 3, "the seeded rows")
        await pilot.press("slash", *"github", "enter")
        await wait_for(pilot, lambda: app.event_table.row_count == 1, "the search result")
        assert app.event_table.highlighted_id == 2

        await pilot.press("slash", "ctrl+u", *"nothing-like-this", "enter")
        await wait_for(pilot, lambda: app.feed_state == "empty", "no match")
        await pilot.pause()
        assert "No events match the filters" in shown_text(app.empty_state)

        await pilot.press("x", "s", "s")  # off → low → medium
        await wait_for(pilot, lambda: app.event_table.row_count == 1, "medium and above")
        assert app.feed_filter.severity is not None
        assert app.feed_filter.severity.label == "medium"


async def test_a_bad_filter_is_reported_and_nothing_changes(
    database: Path, writer: EventWriter
) -> None:
    _seed(writer)
    app = _app(database)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.event_table.row_count == 3, "the seeded rows")
        await pilot.press("slash", *"category:nope", "enter")
        await wait_for(pilot, lambda: bool(app._notifications), "the error")
        assert "unknown category" in next(iter(app._notifications)).message
        assert app.feed_filter == FeedFilter()


async def test_the_bottom_of_the_feed_reads_older_pages(
    database: Path, writer: EventWriter, monkeypatch: pytest.MonkeyPatch
) -> None:
    for minutes in range(12, 0, -1):
        writer.write(_event(NOW - timedelta(minutes=minutes)))
    monkeypatch.setattr(app_module, "PAGE_LIMIT", 4)
    monkeypatch.setattr("egress_watch_tui.history.FEED_LIMIT", 5)
    app = _app(database)
    async with app.run_test(size=(100, 30)) as pilot:
        table = app.event_table
        await wait_for(pilot, lambda: table.row_count >= 5, "the first page")
        first = table.row_count
        await pilot.press("end")
        await wait_for(pilot, lambda: table.row_count > first, "an older page")
        await pilot.press("end")
        await wait_for(pilot, lambda: table.row_count == 12, "the whole history")
        assert table.lowest_id == 1


async def test_detail_shows_the_request_and_allowlisting_needs_a_reason(
    database: Path, writer: EventWriter
) -> None:
    _seed(writer)
    app = _app(database)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.event_table.row_count == 3, "the seeded rows")
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, EventDetailScreen), "the detail")
        detail = app.screen
        assert isinstance(detail, EventDetailScreen)
        await wait_for(pilot, lambda: detail.event is not None, "the event read")
        await pilot.pause()
        text = screen_text(app)
        for present in (
            "anthropic", "POST api.anthropic.com/v1/messages", "claude-sonnet-4", "512 bytes",
            "claude (pid 4242) ← node ← zsh", "/src/shop", AWS.masked, GITHUB.masked,
            "aws-access-key", "user, message 4", "AWS access key id", "open (a acknowledges)",
        ):  # fmt: skip
            assert present in text, present
        for raw in (AWS_RAW, GITHUB_RAW):
            assert raw not in text

        await pilot.press("c")
        assert app.clipboard == AWS.fingerprint

        await pilot.press("w")
        await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen), "the confirmation")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, PromptScreen), "an empty reason is refused"
        assert "give a reason" in shown_text(app.screen.query_one("#prompt-error", Static))
        await pilot.press(*"test fixture", "enter")
        await wait_for(pilot, lambda: "allowlisted: test fixture" in screen_text(app), "state")

        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen), "the ack prompt")
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is detail, "the cancelled prompt")
        await pilot.press("a", *"rotated", "enter")
        await wait_for(pilot, lambda: "acknowledged" in screen_text(app), "the ack")

        with sqlite3.connect(database) as conn:
            allowed = conn.execute("SELECT fingerprint, rule, reason FROM allowlist").fetchall()
            acks = conn.execute("SELECT event_id, note FROM acknowledgements").fetchall()
        assert allowed == [(AWS.fingerprint, "aws-access-key", "test fixture")]
        assert acks == [(2, "rotated")]

        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.default_screen, "back to the feed")
        assert app.event_table.highlighted_id == 2


async def test_overview_counts_and_health(database: Path, writer: EventWriter) -> None:
    _seed(writer)  # the secret event there was blocked: its values did not leave then
    writer.write(replace(_secret_event(NOW - timedelta(seconds=30)), action=Action.PASS))
    app = _app(database)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.event_table.row_count == 4, "the seeded rows")
        await pilot.press("o")
        await wait_for(pilot, lambda: isinstance(app.screen, OverviewScreen), "the overview")
        screen = app.screen
        assert isinstance(screen, OverviewScreen)
        await wait_for(pilot, lambda: screen.overview is not None, "the figures")
        await pilot.pause()
        text = screen_text(app)
        for present in (
            "2 unique secrets left this week", "3 sensitive values left",
            "0 stopped before leaving", "top services",
            "anthropic", "copilot", "top processes", "claude", "top repositories",
            "● running on 127.0.0.1:8080", "0 errors",
        ):  # fmt: skip
            assert present in text, present
        assert screen.overview is not None
        assert screen.overview.days[-1][1] == 2  # the blocked request let nothing out
        assert ("anthropic", 1) in screen.overview.top_services
        assert not app.active_bindings.get("s") or not app.active_bindings["s"].enabled


async def test_overview_counts_only_what_left(database: Path, writer: EventWriter) -> None:
    """A blocked request's secrets are stopped, not exposed (the report says the same)."""
    _seed(writer)
    app = _app(database)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.event_table.row_count == 3, "the seeded rows")
        await pilot.press("o")
        await wait_for(pilot, lambda: isinstance(app.screen, OverviewScreen), "the overview")
        screen = app.screen
        assert isinstance(screen, OverviewScreen)
        await wait_for(pilot, lambda: screen.overview is not None, "the figures")
        await pilot.pause()
        text = screen_text(app)
        assert "0 unique secrets left this week" in text
        assert "2 stopped before leaving" in text
        assert screen.overview is not None
        assert screen.overview.top_services == [("copilot", 1)]


async def test_overview_offers_to_start_a_stopped_daemon(
    database: Path, writer: EventWriter, tmp_path: Path
) -> None:
    marker = tmp_path / "started"
    command = [sys.executable, "-c", f"open({str(marker)!r}, 'w').write('ok'); print('started')"]
    app = make_app(database, lambda: STOPPED, poll_interval=POLL, clock=lambda: NOW,
                   start_command=command)  # fmt: skip
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.daemon_status == STOPPED, "the status")
        await pilot.press("o")
        await wait_for(pilot, lambda: isinstance(app.screen, OverviewScreen), "the overview")
        await wait_for(pilot, lambda: "Press s to start it" in screen_text(app), "the offer")
        assert "not running" in screen_text(app)
        await pilot.press("s")
        await wait_for(pilot, marker.exists, "the start command to run")
        await wait_for(
            pilot,
            lambda: any(n.title == "Daemon started" for n in app._notifications),
            "the result",
        )


async def test_palette_lists_filter_commands(database: Path, writer: EventWriter) -> None:
    _seed(writer)
    app = _app(database, RUNNING)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.findings_pane.event is not None, "the highlight")
        titles = [command.title for command in app.get_system_commands(app.screen)]
        for title in ("Filter and search…", "Clear filters", "Overview",
                      "Filter: severity high and above", "Filter: category secret",
                      "Filter: service copilot"):  # fmt: skip
            assert title in titles


async def test_a_demo_event_shows_in_the_feed_but_not_in_the_overview(
    database: Path, writer: EventWriter
) -> None:
    """``egress-watch demo``'s test event is visible, and counts as nothing that left."""
    writer.write(_event(NOW - timedelta(minutes=1), (AWS,), service="egress-watch-demo",
                        host="canary.egress-watch.invalid"))  # fmt: skip
    app = _app(database)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.event_table.row_count == 1, "the demo row")
        service = str(app.event_table.get_row_at(0)[2])  # time, tool, service, ...
        assert service.startswith("egress-w"), service  # cropped to the column's width
        await pilot.press("o")
        await wait_for(pilot, lambda: isinstance(app.screen, OverviewScreen), "the overview")
        screen = app.screen
        assert isinstance(screen, OverviewScreen)
        await wait_for(pilot, lambda: screen.overview is not None, "the figures")
        assert screen.overview is not None
        assert screen.overview.secrets_this_week == 0
        assert screen.overview.top_services == []

"""SVG snapshots of the main screens (feed, detail, overview, help) over a seeded history.

Needs the ``pytest-textual-snapshot`` plugin; without it these tests skip and say so. First run:
``uv run pytest tests/tui/test_snapshots.py --snapshot-update``, inspect the SVGs, commit them.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from test_app import EMAIL, NOW, RUNNING, _event, _secret_event
from textual.pilot import Pilot

from egress_watch.store.writer import EventWriter
from egress_watch_tui.app import EgressWatchApp, make_app
from egress_watch_tui.screens import EventDetailScreen, HelpScreen, OverviewScreen

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("pytest_textual_snapshot") is None,
    reason="pytest-textual-snapshot is not installed (dev dependency "
    '"pytest-textual-snapshot==1.1.0")',
)


def _seeded_app(database: Path, writer: EventWriter) -> EgressWatchApp:
    writer.write(_event(NOW - timedelta(minutes=3)))
    writer.write(_secret_event(NOW - timedelta(minutes=2)))
    writer.write(_event(NOW - timedelta(minutes=1), (EMAIL,), service="copilot"))
    # A long poll interval: the snapshot is taken once everything has been read, not mid-poll.
    return make_app(database, lambda: RUNNING, poll_interval=3600, clock=lambda: NOW)


def _until(condition: Callable[[Pilot[None]], bool]) -> Callable[[Pilot[None]], Awaitable[None]]:
    async def run_before(pilot: Pilot[None]) -> None:
        for _ in range(500):
            if condition(pilot):
                break
            await pilot.pause()
        else:
            raise AssertionError("the screen never got ready for its snapshot")
        await pilot.pause()

    return run_before


def _feed_ready(pilot: Pilot[Any]) -> bool:
    app = pilot.app
    return isinstance(app, EgressWatchApp) and app.event_table.row_count == 3


@pytest.mark.parametrize("size", [(80, 24), (120, 36)], ids=["80x24", "120x36"])
def test_feed(
    snap_compare: Any, database: Path, writer: EventWriter, size: tuple[int, int]
) -> None:
    app = _seeded_app(database, writer)
    assert snap_compare(app, terminal_size=size, run_before=_until(_feed_ready))


def test_detail(snap_compare: Any, database: Path, writer: EventWriter) -> None:
    async def open_detail(pilot: Pilot[None]) -> None:
        await _until(_feed_ready)(pilot)
        await pilot.press("down", "enter")
        await _until(
            lambda p: isinstance(p.app.screen, EventDetailScreen) and p.app.screen.event is not None
        )(pilot)

    app = _seeded_app(database, writer)
    assert snap_compare(app, terminal_size=(100, 30), run_before=open_detail)


def test_overview(snap_compare: Any, database: Path, writer: EventWriter) -> None:
    async def open_overview(pilot: Pilot[None]) -> None:
        await _until(_feed_ready)(pilot)
        await pilot.press("o")
        await _until(
            lambda p: isinstance(p.app.screen, OverviewScreen) and p.app.screen.overview is not None
        )(pilot)

    app = _seeded_app(database, writer)
    assert snap_compare(app, terminal_size=(100, 30), run_before=open_overview)


def test_help(snap_compare: Any, database: Path, writer: EventWriter) -> None:
    async def open_help(pilot: Pilot[None]) -> None:
        await _until(_feed_ready)(pilot)
        await pilot.press("question_mark")
        await _until(lambda p: isinstance(p.app.screen, HelpScreen))(pilot)

    app = _seeded_app(database, writer)
    assert snap_compare(app, terminal_size=(100, 30), run_before=open_help)

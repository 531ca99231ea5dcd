"""The dashboard app: a live feed of the history, polled from thread workers.

Workers only read (through ``open_reader``) and post messages; the handlers here own every
change to the widgets. The app is built by ``make_app`` so tests and the CLI inject the database
path, the daemon-health reader and the clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import getters, on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static
from textual.worker import Worker, WorkerState, get_current_worker

from egress_watch.errors import EgressWatchError
from egress_watch_tui.commands import feed_commands
from egress_watch_tui.feed_text import FILTER_HINT, NAVIGATION_KEYS, FeedState, empty_feed_text
from egress_watch_tui.filters import FeedFilter, parse_filter
from egress_watch_tui.formatting import status_text
from egress_watch_tui.history import PAGE_LIMIT, read_page
from egress_watch_tui.messages import (
    DaemonStatusRead,
    EventsFetched,
    HistoryMissing,
    OlderEventsFetched,
)
from egress_watch_tui.screens import EventDetailScreen, HelpScreen, OverviewScreen
from egress_watch_tui.widgets import EventTable, FilterBar, FindingsPane

StatusReader = Callable[[], dict[str, Any]]
Clock = Callable[[], datetime]
_ERROR_TITLES = {
    "db": "Cannot read the history",
    "older": "Cannot read older events",
    "status": "Cannot read the daemon status",
    "triage": "Cannot record the triage",
    "start": "Cannot start the daemon",
}

FEED_ACTIONS = frozenset({"open_detail", "edit_filter", "cycle", "clear_filters", "overview"})

AUTO_PAGE_ROWS = 50
"""A filtered feed with fewer rows than this keeps reading older pages by itself."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


class EgressWatchApp(App[None]):
    """The live feed of what AI tools sent, with the highlighted event's findings below it."""

    CSS_PATH = "app.tcss"
    TITLE = "egress-watch"
    SUB_TITLE = "live feed"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", tooltip="Quit the dashboard (the daemon keeps running)"),
        Binding("enter", "open_detail", "Detail", tooltip="Open the highlighted event in full"),
        Binding("slash", "edit_filter", "Filter", tooltip="Filter and search: " + FILTER_HINT),
        Binding("s", "cycle('severity')", "Severity", tooltip="Cycle the minimum severity"),
        Binding("c", "cycle('category')", "Category", tooltip="Cycle the category filter"),
        Binding("x", "clear_filters", "Clear", tooltip="Clear every filter and the search"),
        Binding("o", "overview", "Overview", tooltip="Exposures per day, top lists, daemon health"),
        Binding("r", "refresh", "Refresh", tooltip="Read new events and the daemon status now"),
        Binding("question_mark", "help", "Help", tooltip="Show this list of keys"),
    ]

    feed_state: reactive[FeedState] = reactive[FeedState]("loading", init=False)
    """What the feed area shows: the table once there are events, otherwise why there are none."""

    feed_filter: reactive[FeedFilter] = reactive(FeedFilter, init=False)
    """What the feed shows; changing it re-reads the feed from the newest event."""

    daemon_status: reactive[dict[str, Any] | None] = reactive(None, init=False)
    """The last health record from ``status_reader``; None until the first read."""

    event_table = getters.query_one("#events", EventTable)
    findings_pane = getters.query_one("#findings", FindingsPane)
    status_line = getters.query_one("#status", Static)
    empty_state = getters.query_one("#empty", Static)
    filter_bar = getters.query_one(FilterBar)

    def __init__(
        self,
        database: Path,
        status_reader: StatusReader,
        poll_interval: float,
        clock: Clock,
        start_command: Sequence[str] | None = None,
    ) -> None:
        if poll_interval <= 0:
            raise ValueError(f"poll_interval must be positive, got {poll_interval}")
        super().__init__()
        self._database = database
        self._status_reader = status_reader
        self._poll_interval = poll_interval
        self._clock = clock
        self._start_command = start_command
        self._last_id: int | None = None
        self._generation = 0
        """Bumped at each filter change; reads for an older generation are dropped."""
        self._older_from: int | None = None
        """Where the next older page starts; None when everything older is shown."""
        self._last_errors: dict[str, str] = {}
        """The last error notified per worker group, so a failing poll notifies once."""

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(status_text(None), id="status")
        yield FilterBar()
        table = EventTable(clock=self._clock, id="events")
        table.display = False
        yield table
        yield Static(self._empty_text("loading"), id="empty")
        pane = FindingsPane(id="findings")
        pane.display = False
        yield pane
        yield Footer()

    def on_mount(self) -> None:
        self._poll()
        self.set_interval(self._poll_interval, self._poll)

    # Polling: the timer and `r` start thread workers; they post messages and touch no widget.

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Feed keys act on the feed only, not under the detail or overview screens."""
        if action in FEED_ACTIONS:
            return self.screen is self.default_screen
        return True

    def action_refresh(self) -> None:
        """Read new events and the daemon status now, not at the next tick."""
        self._poll()

    def action_help(self) -> None:
        """Show the key reference."""
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self._help_keys()))

    def action_open_detail(self) -> None:
        """Open the highlighted event: its request, process, findings and triage."""
        event_id = self.event_table.highlighted_id
        if self.feed_state == "ready" and event_id is not None:
            self.push_screen(EventDetailScreen(self._database, event_id, self._clock))

    def action_overview(self) -> None:
        """Open the overview of the last two weeks and the daemon's health."""
        if not isinstance(self.screen, OverviewScreen):
            self.push_screen(OverviewScreen(self._database, self._clock, self._start_command,
                                            lambda: self.daemon_status))  # fmt: skip

    def action_edit_filter(self) -> None:
        """Open the filter line, prefilled with the filters in force."""
        self.filter_bar.edit()

    def action_cycle(self, name: str) -> None:
        """Move the severity or category filter to its next value."""
        self.feed_filter = self.feed_filter.cycled(name)

    def action_clear_filters(self) -> None:
        """Show every event again."""
        self.feed_filter = FeedFilter()

    def set_filter(self, **changes: Any) -> None:
        """Narrow (or widen) the feed by some fields, keeping the others."""
        self.feed_filter = replace(self.feed_filter, **changes)

    @on(FilterBar.Submitted)
    def _filter_typed(self, message: FilterBar.Submitted) -> None:
        try:
            self.feed_filter = parse_filter(message.line, self._clock())
        except ValueError as error:
            self.notify(str(error), title="Cannot read the filter", severity="error", markup=False)
            return
        self.filter_bar.close()
        self.event_table.focus()

    @on(FilterBar.Cancelled)
    def _filter_cancelled(self) -> None:
        self.event_table.focus()

    def watch_feed_filter(self, feed_filter: FeedFilter) -> None:
        """Start the feed over for the new filter; reads for the old one are dropped."""
        self.filter_bar.feed_filter = feed_filter
        self.filter_bar.searching = None
        self._generation += 1
        self._last_id = None
        self._older_from = None
        self.event_table.clear_events()
        self.findings_pane.event = None
        self.feed_state = "loading"
        self._fetch_events(None, self._generation, feed_filter)

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Palette entries for every action, plus filter shortcuts on the feed."""
        yield from super().get_system_commands(screen)
        if screen is self.default_screen:
            yield from feed_commands(self)

    def _poll(self) -> None:
        """Start a read per group unless one is running: a slow disk must not pile up threads."""
        if not self._busy("db"):
            self._fetch_events(self._last_id, self._generation, self.feed_filter)
        if not self._busy("status"):
            self._read_status()

    def _busy(self, group: str) -> bool:
        return any(worker.group == group and not worker.is_finished for worker in self.workers)

    @work(thread=True, exclusive=True, exit_on_error=False, group="db", description="read events")
    def _fetch_events(self, after_id: int | None, generation: int, feed_filter: FeedFilter) -> None:
        """Read events newer than ``after_id`` (the newest FEED_LIMIT when None) and post them."""
        page = read_page(self._database, feed_filter, self._clock(), after_id=after_id)
        if get_current_worker().is_cancelled:
            return
        if page is None:
            self.post_message(HistoryMissing(self._database))
        else:
            self.post_message(
                EventsFetched(page.events, after_id, generation, page.scanned_to, page.top_id)
            )

    @work(thread=True, exclusive=True, exit_on_error=False, group="older", description="page")
    def _fetch_older(self, before_id: int, generation: int, feed_filter: FeedFilter) -> None:
        """Read the page of events just older than ``before_id``."""
        page = read_page(self._database, feed_filter, self._clock(), before_id=before_id,
                         limit=PAGE_LIMIT)  # fmt: skip
        if page is not None and not get_current_worker().is_cancelled:
            self.post_message(OlderEventsFetched(page.events, generation, page.scanned_to))

    @work(
        thread=True, exclusive=True, exit_on_error=False, group="status", description="read status"
    )
    def _read_status(self) -> None:
        """Ask the injected reader for the daemon's health (it may touch files or processes)."""
        status = self._status_reader()
        if not get_current_worker().is_cancelled:
            self.post_message(DaemonStatusRead(status))

    # Handlers: the only code that changes widgets. A read that finishes while the app shuts
    # down can still deliver its message after the widgets are gone, hence the is_running checks.

    @on(EventsFetched)
    def _show_events(self, message: EventsFetched) -> None:
        if not self.is_running or message.generation != self._generation:
            return
        self._last_errors.pop("db", None)
        table = self.event_table
        table.add_events(message.events)
        if message.after_id is None:
            self._older_from = message.scanned_to
        self._last_id = max(
            [i for i in (table.highest_id, message.top_id, self._last_id) if i is not None],
            default=None,
        )
        self.feed_state = "ready" if table.row_count else "empty"
        self._maybe_read_older()

    @on(OlderEventsFetched)
    def _show_older(self, message: OlderEventsFetched) -> None:
        if not self.is_running or message.generation != self._generation:
            return
        self.event_table.add_older(message.events)
        self._older_from = message.scanned_to
        if self.event_table.row_count:
            self.feed_state = "ready"
        self._maybe_read_older()

    def _maybe_read_older(self, at_bottom: bool = False) -> None:
        """Read the next older page when the cursor reached the bottom, or a search is thin."""
        table = self.event_table
        thin = not self.feed_filter.is_empty and table.row_count < AUTO_PAGE_ROWS
        if self._older_from is None or not (at_bottom or thin) or self._busy("older"):
            self.filter_bar.searching = None
            return
        if thin:
            self.filter_bar.searching = f"searching older events (below #{self._older_from})…"
        self._fetch_older(self._older_from, self._generation, self.feed_filter)

    @on(HistoryMissing)
    def _show_missing(self, message: HistoryMissing) -> None:
        if not self.is_running:
            return
        self._last_errors.pop("db", None)
        self._last_id = None
        self.event_table.clear_events()
        self.findings_pane.event = None
        self.feed_state = "missing"

    @on(DaemonStatusRead)
    def _show_status(self, message: DaemonStatusRead) -> None:
        if not self.is_running:
            return
        self._last_errors.pop("status", None)
        self.daemon_status = message.status

    @on(DataTable.RowHighlighted, "#events")
    def _show_findings(self, message: DataTable.RowHighlighted) -> None:
        if not self.is_running:
            return
        self.findings_pane.event = self.event_table.event_for(message.row_key)
        if message.cursor_row >= self.event_table.row_count - 1:
            self._maybe_read_older(at_bottom=True)

    @on(DataTable.RowSelected, "#events")
    def _open_selected(self) -> None:
        self.action_open_detail()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Turn a failed read into one error notification (not one per poll) and keep polling."""
        if event.state is not WorkerState.ERROR:
            return
        group = event.worker.group
        error = event.worker.error
        if isinstance(error, EgressWatchError):
            text = str(error)
        else:
            text = f"{type(error).__name__}: {error}"
        if self._last_errors.get(group) == text:
            return
        self._last_errors[group] = text
        self.notify(text, title=_ERROR_TITLES.get(group, "Error"), severity="error", markup=False)
        if group == "db" and self.is_running and self.feed_state != "ready":
            self.feed_state = "unreadable"
            self.empty_state.update(self._empty_text("unreadable"))

    # View state.

    def watch_feed_state(self, state: FeedState) -> None:
        ready = state == "ready"
        table = self.event_table
        table.display = ready
        self.findings_pane.display = ready
        self.empty_state.display = not ready
        if ready:
            if self.default_screen.focused is None:
                table.focus()
        else:
            self.empty_state.update(self._empty_text(state))

    def watch_daemon_status(self, status: dict[str, Any] | None) -> None:
        self.status_line.update(status_text(status))

    def _empty_text(self, state: FeedState) -> Text:
        return empty_feed_text(
            state, self.feed_filter, self._last_errors.get("db", ""), self._database
        )

    def _help_keys(self) -> list[tuple[str, str]]:
        keys = [
            (self.get_key_display(binding), binding.tooltip or binding.description)
            for binding in self.BINDINGS
            if isinstance(binding, Binding)
        ]
        return [*keys, *NAVIGATION_KEYS]


def make_app(
    database: Path,
    status_reader: StatusReader,
    poll_interval: float = 1.0,
    *,
    clock: Clock | None = None,
    start_command: Sequence[str] | None = None,
) -> EgressWatchApp:
    """Build the dashboard over one history database.

    Args:
        database: The SQLite history (``HomePaths.database``); it may not exist yet.
        status_reader: Returns the daemon's health, e.g. ``lambda: daemon.status(paths)``;
            called from a worker thread on every poll.
        poll_interval: Seconds between reads of new events and of the daemon status.
        clock: Returns the current aware time; decides which rows show a date. Defaults to now.
        start_command: The argv that starts the daemon (``egress-watch --home H start``),
            offered on the overview when the daemon is down; None offers no start.

    Returns:
        The app, ready for ``run()`` or ``run_test()``.
    """
    return EgressWatchApp(database, status_reader, poll_interval, clock or _utc_now, start_command)

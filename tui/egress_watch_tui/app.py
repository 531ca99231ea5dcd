"""The dashboard app: a live feed of the history, polled from thread workers.

Workers only read (through ``open_reader``) and post messages; the handlers here own every
change to the widgets. The app is built by ``make_app`` so tests and the CLI inject the database
path, the daemon-health reader and the clock.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Literal

from rich.text import Text
from textual import getters, on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.reactive import reactive
from textual.widgets import DataTable, Footer, Header, Static
from textual.worker import Worker, WorkerState, get_current_worker

from egress_watch.errors import EgressWatchError
from egress_watch_tui.formatting import status_text
from egress_watch_tui.history import FEED_LIMIT, read_events
from egress_watch_tui.messages import DaemonStatusRead, EventsFetched, HistoryMissing
from egress_watch_tui.screens import HelpScreen
from egress_watch_tui.widgets import EventTable, FindingsPane

StatusReader = Callable[[], dict[str, Any]]
Clock = Callable[[], datetime]
FeedState = Literal["loading", "missing", "empty", "unreadable", "ready"]

NAVIGATION_KEYS = (
    ("↑ ↓", "Move between events; the pane below shows the findings"),
    ("PgUp PgDn", "Move a page"),
    ("Home End", "Jump to the newest / oldest event"),
    ("Ctrl+P", "Command palette"),
)

_ERROR_TITLES = {"db": "Cannot read the history", "status": "Cannot read the daemon status"}


def _utc_now() -> datetime:
    return datetime.now(UTC)


class EgressWatchApp(App[None]):
    """The live feed of what AI tools sent, with the highlighted event's findings below it."""

    CSS_PATH = "app.tcss"
    TITLE = "egress-watch"
    SUB_TITLE = "live feed"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", tooltip="Quit the dashboard (the daemon keeps running)"),
        Binding("r", "refresh", "Refresh", tooltip="Read new events and the daemon status now"),
        Binding("question_mark", "help", "Help", tooltip="Show this list of keys"),
    ]

    feed_state: reactive[FeedState] = reactive[FeedState]("loading", init=False)
    """What the feed area shows: the table once there are events, otherwise why there are none."""

    daemon_status: reactive[dict[str, Any] | None] = reactive(None, init=False)
    """The last health record from ``status_reader``; None until the first read."""

    event_table = getters.query_one("#events", EventTable)
    findings_pane = getters.query_one("#findings", FindingsPane)
    status_line = getters.query_one("#status", Static)
    empty_state = getters.query_one("#empty", Static)

    def __init__(
        self,
        database: Path,
        status_reader: StatusReader,
        poll_interval: float,
        clock: Clock,
    ) -> None:
        if poll_interval <= 0:
            raise ValueError(f"poll_interval must be positive, got {poll_interval}")
        super().__init__()
        self._database = database
        self._status_reader = status_reader
        self._poll_interval = poll_interval
        self._clock = clock
        self._last_id: int | None = None
        self._last_errors: dict[str, str] = {}
        """The last error notified per worker group, so a failing poll notifies once."""

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(status_text(None), id="status")
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

    def action_refresh(self) -> None:
        """Read new events and the daemon status now, not at the next tick."""
        self._poll()

    def action_help(self) -> None:
        """Show the key reference."""
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self._help_keys()))

    def _poll(self) -> None:
        """Start a read per group unless one is running: a slow disk must not pile up threads."""
        if not self._busy("db"):
            self._fetch_events(self._last_id)
        if not self._busy("status"):
            self._read_status()

    def _busy(self, group: str) -> bool:
        return any(worker.group == group and not worker.is_finished for worker in self.workers)

    @work(thread=True, exclusive=True, exit_on_error=False, group="db", description="read events")
    def _fetch_events(self, after_id: int | None) -> None:
        """Read events newer than ``after_id`` (the newest FEED_LIMIT when None) and post them."""
        events = read_events(self._database, after_id, FEED_LIMIT)
        if get_current_worker().is_cancelled:
            return
        if events is None:
            self.post_message(HistoryMissing(self._database))
        else:
            self.post_message(EventsFetched(events, after_id))

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
        if not self.is_running:
            return
        self._last_errors.pop("db", None)
        table = self.event_table
        table.add_events(message.events)
        self._last_id = table.highest_id
        self.feed_state = "ready" if table.row_count else "empty"

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
        if state == "loading":
            return Text("Reading the history…", style="dim")
        if state == "unreadable":
            text = Text("Cannot read the history\n\n", style="bold red")
            text.append(self._last_errors.get("db", ""), style="")
            text.append("\n\nStill trying at every refresh; press r to retry now.", style="dim")
            return text
        text = Text("No events yet", style="bold")
        if state == "missing":
            text.append(": the history database has not been created.\n\n", style="bold")
            text.append(
                "Start the proxy with `egress-watch start` and send your AI tools through it;\n"
                "their requests appear here as they happen.\n\n"
            )
            text.append(f"Waiting for {self._database}", style="dim")
        else:
            text.append(": requests to AI services appear here as they happen.", style="bold")
        return text

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
) -> EgressWatchApp:
    """Build the dashboard over one history database.

    Args:
        database: The SQLite history (``HomePaths.database``); it may not exist yet.
        status_reader: Returns the daemon's health, e.g. ``lambda: daemon.status(paths)``;
            called from a worker thread on every poll.
        poll_interval: Seconds between reads of new events and of the daemon status.
        clock: Returns the current aware time; decides which rows show a date. Defaults to now.

    Returns:
        The app, ready for ``run()`` or ``run_test()``.
    """
    return EgressWatchApp(database, status_reader, poll_interval, clock or _utc_now)

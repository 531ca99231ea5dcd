"""The overview: exposures per day, top services / processes / repositories, daemon health."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual import getters, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Sparkline, Static

from egress_watch.store.dashboard import Overview
from egress_watch_tui.formatting import uptime
from egress_watch_tui.history import read_overview
from egress_watch_tui.messages import DaemonStartFinished, OverviewRead

START_TIMEOUT_S = 60
REFRESH_S = 10.0


def requests_per_minute(status: Mapping[str, Any]) -> float | None:
    """Average request rate since the daemon started, or None before it has run a second."""
    seconds = float(status.get("uptime_s") or 0)
    if seconds < 1:
        return None
    return float(status.get("requests") or 0) * 60 / seconds


def health_text(status: Mapping[str, Any] | None, can_start: bool) -> Text:
    """Running, port, requests per minute, errors, uninspected; or how to start the daemon."""
    if status is None:
        return Text("reading daemon status…", style="dim")
    if not status.get("running"):
        text = Text("○ The daemon is not running: nothing is being watched.\n", style="bold yellow")
        if can_start:
            text.append("Press s to start it now.", style="")
        else:
            text.append("Start it with `egress-watch start`.", style="")
        return text
    rate = requests_per_minute(status)
    text = Text.assemble(
        ("● running", "bold green"),
        f" on {status.get('listen_host', '?')}:{status.get('listen_port', '?')}",
        f" · {status.get('mode') or 'monitor'} mode · pid {status.get('pid')}",
    )
    if status.get("uptime_s") is not None:
        text.append(f" · up {uptime(float(status['uptime_s']))}")
    text.append("\n")
    text.append(f"{rate:.1f} requests/min" if rate is not None else "— requests/min")
    errors = int(status.get("errors") or 0)
    text.append(" · ")
    text.append(f"{errors:,} errors", style="red" if errors else "")
    uninspected = int(status.get("uninspected") or 0)
    text.append(" · ")
    text.append(f"{uninspected:,} uninspected", style="yellow" if uninspected else "")
    text.append(f" · {int(status.get('blocked') or 0):,} blocked")
    text.append(f" · {int(status.get('redacted') or 0):,} redacted")
    return text


def top_table(title: str, rows: Sequence[tuple[str, int]]) -> Table:
    """A titled top list: name and count, or a dash when there is nothing."""
    table = Table(box=None, pad_edge=False, expand=True, title=title, title_justify="left",
                  title_style="bold", show_header=False)  # fmt: skip
    table.add_column(no_wrap=True, overflow="ellipsis", ratio=1)
    table.add_column(justify="right", no_wrap=True)
    for name, count in rows or [("—", 0)]:
        table.add_row(Text(name), Text(f"{count:,}" if count else ""))
    return table


def days_caption(overview: Overview) -> Text:
    """What the sparkline shows, with its peak and today's figure."""
    days = overview.days
    if not days:
        return Text("")
    peak_day, peak = max(days, key=lambda item: item[1])
    text = Text(f"requests that let a value out, per day, {days[0][0]} → {days[-1][0]} (UTC)",
                style="dim")  # fmt: skip
    text.append(f"\npeak {peak:,} on {peak_day} · today {days[-1][1]:,}")
    return text


def week_text(overview: Overview) -> Text:
    """The week's distinct values: secrets first, since those need rotating."""
    text = Text.assemble(
        (f"{overview.secrets_this_week:,}", "bold red" if overview.secrets_this_week else "bold"),
        " unique secrets left this week · ",
        (f"{overview.exposures_this_week:,}", "bold"),
        " sensitive values left in all · ",
        (f"{overview.stopped_this_week:,}", "bold green" if overview.stopped_this_week else "bold"),
        " stopped before leaving",
    )
    return text


class OverviewScreen(Screen[None]):
    """Where exposure comes from, over the last two weeks, and whether the daemon is watching."""

    DEFAULT_CSS = """
    OverviewScreen #overview-health { height: auto; padding: 0 1; background: $boost; }
    OverviewScreen #overview-week { height: auto; padding: 0 1; margin-top: 1; }
    OverviewScreen Sparkline { height: 3; margin: 1 1 0 1; }
    OverviewScreen #overview-days { height: auto; padding: 0 1; }
    OverviewScreen #overview-tops { height: auto; margin-top: 1; }
    OverviewScreen #overview-tops > Static { width: 1fr; padding: 0 1; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("o", "app.pop_screen", "Feed", show=False),
        Binding("s", "start_daemon", "Start daemon"),
        Binding("r", "refresh", "Refresh"),
    ]

    health = getters.query_one("#overview-health", Static)
    week = getters.query_one("#overview-week", Static)
    sparkline = getters.query_one(Sparkline)
    days = getters.query_one("#overview-days", Static)

    def __init__(
        self,
        database: Path,
        clock: Callable[[], datetime],
        start_command: Sequence[str] | None,
        status: Callable[[], dict[str, Any] | None],
    ) -> None:
        super().__init__()
        self._database = database
        self._clock = clock
        self._start_command = start_command
        self._status = status
        self.sub_title = "overview"
        self.overview: Overview | None = None
        self.starting = False

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll():
            yield Static(health_text(None, False), id="overview-health")
            yield Static(Text("Reading the history…", style="dim"), id="overview-week")
            yield Sparkline([], summary_function=max)
            yield Static("", id="overview-days")
            with Horizontal(id="overview-tops"):
                yield Static("", id="top-services")
                yield Static("", id="top-processes")
                yield Static("", id="top-repos")
                yield Static("", id="top-jurisdictions")
        yield Footer()

    def on_mount(self) -> None:
        self.watch(self.app, "daemon_status", self.show_health)
        self.action_refresh()
        self.set_interval(REFRESH_S, self.action_refresh)

    def show_health(self, status: dict[str, Any] | None = None) -> None:
        self.health.update(health_text(self._status(), self._start_command is not None))
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Offer ``s`` only while the daemon is down and a start command was given."""
        if action == "start_daemon":
            status = self._status()
            down = status is not None and not status.get("running")
            return self._start_command is not None and down and not self.starting
        return True

    def action_refresh(self) -> None:
        """Re-read the figures (also every few seconds while the screen is open)."""
        self._load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="db", description="overview")
    def _load(self) -> None:
        self.post_message(OverviewRead(read_overview(self._database, self._clock())))

    @on(OverviewRead)
    def _show(self, message: OverviewRead) -> None:
        overview = self.overview = message.overview
        if overview is None:
            self.week.update(Text("No history yet: start the daemon and use your AI tools."))
            return
        self.week.update(week_text(overview))
        self.sparkline.data = [count for _, count in overview.days]
        self.days.update(days_caption(overview))
        for widget_id, title, rows in (
            ("#top-services", "top services", overview.top_services),
            ("#top-processes", "top processes", overview.top_processes),
            ("#top-repos", "top repositories", overview.top_repos),
            ("#top-jurisdictions", "requests per jurisdiction", overview.top_jurisdictions),
        ):
            self.query_one(widget_id, Static).update(top_table(title, rows))

    def action_start_daemon(self) -> None:
        """Start the daemon in the background with the injected command."""
        if self._start_command is None or self.starting:
            return
        self.starting = True
        self.refresh_bindings()
        self.notify("Starting the daemon…")
        self._start(list(self._start_command))

    @work(thread=True, exit_on_error=False, group="start", description="start daemon")
    def _start(self, command: list[str]) -> None:
        result = subprocess.run(  # noqa: S603 - a fixed argv built by the CLI, no shell
            command, capture_output=True, text=True, timeout=START_TIMEOUT_S, check=False
        )
        output = (result.stdout + result.stderr).strip().splitlines()[-3:]
        self.post_message(DaemonStartFinished(result.returncode, "\n".join(output)))

    @on(DaemonStartFinished)
    def _started(self, message: DaemonStartFinished) -> None:
        self.starting = False
        if message.returncode == 0:
            self.notify(message.output or "Daemon started", title="Daemon started")
        else:
            self.notify(message.output or f"exit {message.returncode}",
                        title="Could not start the daemon", severity="error")  # fmt: skip
        refresh = getattr(self.app, "action_refresh", None)
        if refresh is not None:
            refresh()
        self.refresh_bindings()

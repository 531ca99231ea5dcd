"""The filter bar: shows the active filters, and becomes an input line on ``/``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import getters, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Input, Static

from egress_watch_tui.filters import FILTER_HELP, FeedFilter


def filter_summary(feed_filter: FeedFilter, searching: str | None = None) -> Text:
    """``filters: severity:high service:openai · x clears`` or the hint to open the bar."""
    if feed_filter.is_empty:
        return Text("no filters · / to filter and search", style="dim")
    line = Text("filters: ", style="bold")
    for word in feed_filter.terms():
        line.append(f" {word} ", style="reverse")
        line.append(" ")
    line.append("· x clears", style="dim")
    if searching:
        line.append(f" · {searching}", style="italic dim")
    return line


class FilterBar(Vertical):
    """One line: the active filters; on ``/`` an input that takes a filter line."""

    DEFAULT_CSS = """
    FilterBar {
        height: auto;
    }
    FilterBar > #filter-summary {
        height: 1;
        padding: 0 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    FilterBar > Input {
        display: none;
    }
    FilterBar.-editing > Input {
        display: block;
    }
    FilterBar.-editing > #filter-summary {
        color: $text-muted;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", show=True),
    ]

    @dataclass
    class Submitted(Message):
        """The user typed a filter line and pressed enter."""

        line: str

    @dataclass
    class Cancelled(Message):
        """The user left the input without changing the filters."""

    feed_filter: reactive[FeedFilter] = reactive(FeedFilter, init=False)
    searching: reactive[str | None] = reactive(None, init=False)
    """A note while an older page of a search is being read."""

    summary = getters.query_one("#filter-summary", Static)
    input = getters.query_one("#filter-input", Input)

    def compose(self) -> ComposeResult:
        yield Static(filter_summary(FeedFilter()), id="filter-summary")
        # Disabled while closed, so the hidden input never takes focus (or an enter) at start.
        yield Input(placeholder=FILTER_HELP, id="filter-input", disabled=True)

    def edit(self) -> None:
        """Open the input, prefilled with the filters in force."""
        self.add_class("-editing")
        self.input.disabled = False
        self.summary.update(Text(FILTER_HELP, style="dim"))
        self.input.value = self.feed_filter.text_form()
        self.input.cursor_position = len(self.input.value)
        self.input.focus()

    def close(self) -> None:
        self.remove_class("-editing")
        self.input.disabled = True
        self._show()

    @on(Input.Submitted, "#filter-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(self.Submitted(event.value))

    def action_cancel(self) -> None:
        self.close()
        self.post_message(self.Cancelled())

    def watch_feed_filter(self) -> None:
        self._show()

    def watch_searching(self) -> None:
        self._show()

    def _show(self) -> None:
        if not self.has_class("-editing"):
            self.summary.update(filter_summary(self.feed_filter, self.searching))

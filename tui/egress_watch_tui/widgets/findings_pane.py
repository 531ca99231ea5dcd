"""The detail pane under the feed: the highlighted event's redacted findings and nothing else."""

from __future__ import annotations

from typing import Any

from textual import getters
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.reactive import reactive
from textual.widgets import Static

from egress_watch_tui.formatting import findings_detail


class FindingsPane(VerticalScroll):
    """Shows ``event``'s findings: rule, severity, masked preview, where, reason, fingerprint."""

    DEFAULT_CSS = """
    FindingsPane {
        border-top: solid $primary;
        border-title-color: $text-muted;
        padding: 0 1;
    }
    """

    BORDER_TITLE = "findings"

    event: reactive[dict[str, Any] | None] = reactive(None, init=False)
    """The highlighted event, as read from the history; None shows a hint."""

    body = getters.query_one("#findings-body", Static)

    def compose(self) -> ComposeResult:
        yield Static(findings_detail(None), id="findings-body")

    def watch_event(self, event: dict[str, Any] | None) -> None:
        self.body.update(findings_detail(event))
        self.scroll_home(animate=False)

"""Command palette entries for the feed: filter shortcuts beside the app's own actions.

The app hands itself in as a ``FeedActions``: this module names what it calls, so it needs no
import of the app (which imports it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Protocol

from textual.app import SystemCommand

from egress_watch.model import Category, Severity


class HighlightedEvent(Protocol):
    """The pane that holds the highlighted event (the findings pane)."""

    @property
    def event(self) -> dict[str, Any] | None: ...


class FeedActions(Protocol):
    """What the palette entries call on the dashboard app."""

    @property
    def findings_pane(self) -> HighlightedEvent: ...

    def set_filter(self, **changes: Any) -> None: ...
    def action_edit_filter(self) -> None: ...
    def action_clear_filters(self) -> None: ...
    def action_overview(self) -> None: ...
    def action_open_detail(self) -> None: ...
    def action_help(self) -> None: ...


def _setter(app: FeedActions, **changes: Any) -> Callable[[], None]:
    return lambda: app.set_filter(**changes)


def feed_commands(app: FeedActions) -> Iterator[SystemCommand]:
    """Every feed action, a filter per severity and category, and the highlighted event's own."""
    for title, help_text, callback in (
        ("Filter and search…", "Type filters and free words", app.action_edit_filter),
        ("Clear filters", "Show every event again", app.action_clear_filters),
        ("Overview", "Exposures per day, top lists, daemon health", app.action_overview),
        ("Open event detail", "The highlighted event in full", app.action_open_detail),
        ("Help: keys", "Every key the dashboard answers to", app.action_help),
    ):
        yield SystemCommand(title, help_text, callback)
    for severity in reversed(Severity):
        yield SystemCommand(
            f"Filter: severity {severity.label} and above",
            "Show only events at least this severe",
            _setter(app, severity=severity),
        )
    for category in Category:
        yield SystemCommand(
            f"Filter: category {category.value}",
            "Show only events with a finding of this category",
            _setter(app, category=category),
        )
    event = app.findings_pane.event
    if event is None:
        return
    yield SystemCommand(
        f"Filter: service {event['service']}",
        "Only the highlighted event's service",
        _setter(app, service=event["service"]),
    )
    tool = event.get("tool") or event.get("process_name")
    if tool:
        yield SystemCommand(
            f"Filter: tool {tool}",
            "Only the highlighted event's sending tool",
            _setter(app, process=tool),
        )

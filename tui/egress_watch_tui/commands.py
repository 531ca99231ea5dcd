"""Command palette entries for the feed: filter shortcuts beside the app's own actions."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from textual.app import SystemCommand

from egress_watch.model import Category, Severity

if TYPE_CHECKING:
    from egress_watch_tui.app import EgressWatchApp


def _setter(app: EgressWatchApp, **changes: Any) -> Callable[[], None]:
    return lambda: app.set_filter(**changes)


def feed_commands(app: EgressWatchApp) -> Iterator[SystemCommand]:
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

"""The feed's texts: the keys beside the bindings, the filter hint, and the empty feed's message."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from rich.text import Text

from egress_watch_tui.filters import FeedFilter

FeedState = Literal["loading", "missing", "empty", "unreadable", "ready"]

NAVIGATION_KEYS = (
    ("↑ ↓", "Move between events; the pane below shows the findings"),
    ("PgUp PgDn", "Move a page; at the bottom, older events are read in"),
    ("Home End", "Jump to the newest / oldest event shown"),
    ("Ctrl+P", "Command palette: every action, filter shortcuts"),
    ("in detail", "a acknowledge · w allowlist the finding · c copy fingerprint · esc back"),
    ("in overview", "s start the daemon when it is down · r refresh · esc back"),
)

FILTER_HINT = "severity:high service:openai since:24h and free words over rules and paths"


def empty_feed_text(
    state: FeedState, feed_filter: FeedFilter, db_error: str, database: Path
) -> Text:
    """What the feed area says while it has no rows to show, and why."""
    if state == "loading":
        return Text("Reading the history…", style="dim")
    if state == "unreadable":
        text = Text("Cannot read the history\n\n", style="bold red")
        text.append(db_error, style="")
        text.append("\n\nStill trying at every refresh; press r to retry now.", style="dim")
        return text
    if state == "empty" and not feed_filter.is_empty:
        text = Text("No events match the filters", style="bold")
        text.append("\n\n" + feed_filter.text_form(), style="")
        text.append("\n\nPress x to clear them, / to change them.", style="dim")
        return text
    text = Text("No events yet", style="bold")
    if state == "missing":
        text.append(": the history database has not been created.\n\n", style="bold")
        text.append(
            "Start the proxy with `egress-watch start` and send your AI tools through it;\n"
            "their requests appear here as they happen.\n\n"
        )
        text.append(f"Waiting for {database}", style="dim")
    else:
        text.append(": requests to AI services appear here as they happen.", style="bold")
    return text

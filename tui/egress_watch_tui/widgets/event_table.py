"""The live feed: one row per event, newest first, with the cursor pinned to its event."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.coordinate import Coordinate
from textual.widgets import DataTable
from textual.widgets.data_table import RowKey

from egress_watch_tui.formatting import (
    NOTHING,
    SEVERITY_STYLES,
    action_text,
    event_action,
    findings_summary,
    local_time,
    severity_text,
    shorten_target,
)

MAX_ROWS = 2000
"""The oldest rows are dropped beyond this, so a dashboard left open for days stays quick."""

FIXED_WIDTHS = {"time": 8, "tool": 10, "service": 10, "severity": 8, "action": 11}
"""Columns whose content has a known size; the rest of the width goes to findings and host/path."""

COLUMNS = (
    ("time", "time"),
    ("tool", "tool"),
    ("service", "service"),
    ("findings", "findings"),
    ("severity", "severity"),
    ("action", "action"),
    ("target", "host/path"),
)
NARROW_COLUMNS = tuple(column for column in COLUMNS if column[0] not in ("severity", "target"))
"""Below WIDE cells the severity shows as the findings' colour and host/path only in the detail."""

WIDE = 100

SCROLLBAR_ALLOWANCE = 2
"""Width kept free for the vertical scrollbar, so columns do not jump when it appears."""

MIN_FLEXIBLE = 12


@dataclass(frozen=True, slots=True)
class Stamp:
    """The time cell; it carries the event id so the table can be sorted newest first."""

    event_id: int
    text: Text

    def __rich__(self) -> Text:
        return self.text

    def __str__(self) -> str:
        return self.text.plain


Cell = Stamp | Text


def columns_for(total: int) -> tuple[tuple[str, str], ...]:
    """The columns that fit ``total`` cells: all of them when wide, the essential ones when not."""
    return COLUMNS if total >= WIDE else NARROW_COLUMNS


def column_widths(total: int, cell_padding: int) -> tuple[int, ...]:
    """Widths for ``columns_for(total)`` that fill ``total`` cells; the flexible ones share."""
    columns = columns_for(total)
    keys = [key for key, _ in columns]
    padding = 2 * cell_padding * len(columns)
    fixed = sum(FIXED_WIDTHS[key] for key in keys if key in FIXED_WIDTHS)
    flexible = total - SCROLLBAR_ALLOWANCE - padding - fixed
    if "target" in keys:
        findings = max(MIN_FLEXIBLE, flexible * 11 // 20)
        target = max(MIN_FLEXIBLE, flexible - findings)
    else:
        findings, target = max(MIN_FLEXIBLE, flexible), 0
    flexible_widths = {"target": target, "findings": findings}
    return tuple(FIXED_WIDTHS.get(key) or flexible_widths[key] for key in keys)


def _plain(value: str) -> Text:
    return Text(value, no_wrap=True, overflow="ellipsis", end="")


class EventTable(DataTable[Cell]):
    """Events from the history, newest first; new events go on top, the cursor keeps its event."""

    DEFAULT_CSS = """
    EventTable {
        height: 1fr;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        # The columns always fit, so Home/End need not scroll sideways: they jump through time.
        Binding("home", "scroll_top", "Newest", show=False),
        Binding("end", "scroll_bottom", "Oldest", show=False),
        Binding("enter", "app.open_detail", "Detail", tooltip="Open the event in full"),
    ]

    def __init__(self, *, clock: Callable[[], datetime], id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row")
        self._clock = clock
        self._events: dict[int, dict[str, Any]] = {}
        self._widths: tuple[int, ...] = ()
        self._columns: tuple[tuple[str, str], ...] = ()
        self._cap = MAX_ROWS
        """Rows kept when live events arrive; grows as the user pages back, so paging sticks."""

    @property
    def highest_id(self) -> int | None:
        """The newest event shown; the next read asks for rows after it."""
        return max(self._events, default=None)

    @property
    def lowest_id(self) -> int | None:
        """The oldest event shown; the next older page starts below it."""
        return min(self._events, default=None)

    @property
    def highlighted_id(self) -> int | None:
        """The id of the event under the cursor, or None when the table is empty."""
        if self.row_count == 0:
            return None
        row_key = self.coordinate_to_cell_key(Coordinate(self.cursor_row, 0)).row_key
        return _event_id(row_key)

    def event_for(self, row_key: RowKey) -> dict[str, Any] | None:
        """The event shown in the row ``row_key``."""
        return self._events.get(_event_id(row_key))

    def add_events(self, fresh: Iterable[dict[str, Any]]) -> list[int]:
        """Show events not shown yet, on top, without moving the cursor off its event.

        Returns:
            The ids actually added (already shown ones are skipped).
        """
        new = sorted(
            (event for event in fresh if event["id"] not in self._events),
            key=lambda event: int(event["id"]),
            reverse=True,
        )
        if not new:
            return []
        kept = self.highlighted_id
        self._ensure_columns()
        for event in new:
            self._events[event["id"]] = event
            self.add_row(*self._cells(event), key=str(event["id"]))
        self._drop_oldest(keep=kept)
        self.sort("time", key=lambda stamp: stamp.event_id, reverse=True)
        if kept is not None:
            self.move_cursor(row=self.get_row_index(str(kept)), animate=False)
        return [event["id"] for event in new]

    def add_older(self, page: Iterable[dict[str, Any]]) -> int:
        """Append an older page below the rows shown; they stay until the filter changes."""
        older = sorted(
            (event for event in page if event["id"] not in self._events),
            key=lambda event: int(event["id"]),
            reverse=True,
        )
        self._ensure_columns()
        for event in older:
            self._events[event["id"]] = event
            self.add_row(*self._cells(event), key=str(event["id"]))
        self._cap = max(self._cap, len(self._events))
        return len(older)

    def clear_events(self) -> None:
        """Forget every event (the history went away, or the filter changed)."""
        self._events.clear()
        self._cap = MAX_ROWS
        self.clear()

    def on_resize(self, event: events.Resize) -> None:
        """Refit the columns to the new width; findings and host/path take what is left."""
        self._layout(event.size.width)

    def _ensure_columns(self) -> None:
        if not self.columns:
            self._layout(self.size.width or self.app.size.width)

    def _layout(self, width: int) -> None:
        widths = column_widths(width, self.cell_padding)
        columns = columns_for(width)
        if widths == self._widths and columns == self._columns and self.columns:
            return
        self._widths, self._columns = widths, columns
        kept = self.highlighted_id
        self.clear(columns=True)
        for (key, label), column_width in zip(columns, widths, strict=True):
            self.add_column(label, width=column_width, key=key)
        for event_id in sorted(self._events, reverse=True):
            self.add_row(*self._cells(self._events[event_id]), key=str(event_id))
        if kept is not None:
            self.move_cursor(row=self.get_row_index(str(kept)), animate=False)

    def _drop_oldest(self, keep: int | None) -> None:
        excess = len(self._events) - self._cap
        if excess <= 0:
            return
        oldest = [event_id for event_id in sorted(self._events) if event_id != keep][:excess]
        for event_id in oldest:
            del self._events[event_id]
            self.remove_row(str(event_id))

    def _cells(self, event: dict[str, Any]) -> tuple[Cell, ...]:
        today = self._clock().astimezone().date()
        keys = [key for key, _ in self._columns]
        widths = dict(zip(keys, self._widths, strict=True))
        found = findings_summary(event)
        if "severity" not in widths and event.get("severity"):
            found.stylize(SEVERITY_STYLES.get(str(event["severity"]), ""))
        cells: dict[str, Cell] = {
            "time": Stamp(int(event["id"]), Text(local_time(event["ts"], today), end="")),
            "tool": _plain(str(event.get("tool") or event.get("process_name") or NOTHING)),
            "service": _plain(str(event["service"])),
            "findings": _styled(found),
            "severity": severity_text(event.get("severity")),
            "action": action_text(event_action(event)),
        }
        if "target" in widths:
            path = str(event.get("path") or "")
            cells["target"] = _plain(shorten_target(str(event["host"]), path, widths["target"]))
        return tuple(cells[key] for key in keys)


def _styled(text: Text) -> Text:
    text.no_wrap = True
    text.overflow = "ellipsis"
    return text


def _event_id(row_key: RowKey) -> int:
    if row_key.value is None:
        raise ValueError("event rows are always added with a key")
    return int(row_key.value)

"""Messages that thread workers post to the app; only their handlers change widgets."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textual.message import Message


@dataclass
class EventsFetched(Message):
    """History rows read after ``after_id`` (None: the first load), newest first."""

    events: list[dict[str, Any]]
    """Event dicts from ``list_events``, each with its redacted ``findings``."""
    after_id: int | None
    """The id the read started after; rows at or below it were already shown."""

    def can_replace(self, message: Message) -> bool:
        """A later read from the same starting id is at least as fresh, so a queued one can go."""
        return isinstance(message, EventsFetched) and message.after_id == self.after_id


@dataclass
class HistoryMissing(Message):
    """The database file does not exist yet; the daemon creates it when it first starts."""

    path: Path

    def can_replace(self, message: Message) -> bool:
        """Only the latest answer to "is it there yet?" matters."""
        return isinstance(message, HistoryMissing)


@dataclass
class DaemonStatusRead(Message):
    """The daemon's health as ``status_reader`` reported it (``running`` plus counters)."""

    status: dict[str, Any]

    def can_replace(self, message: Message) -> bool:
        """Only the newest health figures are worth drawing."""
        return isinstance(message, DaemonStatusRead)

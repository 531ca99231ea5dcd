"""Messages that thread workers post; only their handlers change widgets."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textual.message import Message

from egress_watch.store.dashboard import Overview


@dataclass
class EventsFetched(Message):
    """History rows read after ``after_id`` (None: the first load), newest first."""

    events: list[dict[str, Any]]
    """Event dicts from the store, each with its redacted ``findings``."""
    after_id: int | None
    """The id the read started after; rows at or below it were already shown."""
    generation: int = 0
    """Which filter the read was for; a read for a filter since replaced is dropped."""
    scanned_to: int | None = None
    """First load only: where an older page would start (None: nothing older)."""
    top_id: int | None = None
    """First load only: the newest id in the history, so polling starts above it."""

    def can_replace(self, message: Message) -> bool:
        """A later read from the same starting id is at least as fresh, so a queued one can go."""
        return (
            isinstance(message, EventsFetched)
            and message.after_id == self.after_id
            and message.generation == self.generation
        )


@dataclass
class OlderEventsFetched(Message):
    """An older page of the feed, read when the cursor reached the bottom."""

    events: list[dict[str, Any]]
    generation: int
    scanned_to: int | None
    """Where the next older page starts; None once the history is exhausted."""


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


@dataclass
class DetailRead(Message):
    """The detail screen's event, re-read after each triage action; None if it is gone."""

    event: dict[str, Any] | None


@dataclass
class TriageDone(Message):
    """A triage write finished; ``what`` says what was recorded, for the notification."""

    what: str


@dataclass
class OverviewRead(Message):
    """Figures for the overview screen; None while there is no history."""

    overview: Overview | None

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, OverviewRead)


@dataclass
class DaemonStartFinished(Message):
    """The start command returned: its exit code and the last lines it printed."""

    returncode: int
    output: str

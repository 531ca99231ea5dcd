"""The bounded spool: where events wait, in order, while the history cannot be written.

Entries are kept in memory (the source of truth while the daemon runs) and mirrored to an
append-only 0600 JSON-lines file where the disk allows, so a restart still finds them. They hold
the same redacted content as the database, never a body or a secret value. When the disk
refuses a write (full, read-only) the spool carries on in memory only; when the memory bound is
reached too, ``add`` raises ``SpoolFull`` and the caller decides (count the loss, or refuse).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from dataclasses import dataclass, replace
from pathlib import Path

from egress_watch.errors import StoreError
from egress_watch.model import Action, Event
from egress_watch.store import records

log = logging.getLogger(__name__)

DEFAULT_LIMIT = 20_000
"""Events kept at most (a few KB each in memory): hours of heavy use of an AI tool."""


class SpoolFull(StoreError):
    """The history cannot be written and the spool has no room left: the event is lost."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """A later change to a stored event: the upstream failed after the event was committed."""

    event_id: int
    action: Action | None
    error: str


SpoolEntry = Event | Outcome


def with_outcome(event: Event, outcome: Outcome) -> Event:
    """``event`` as it reads once ``outcome`` is known."""
    return replace(event, action=outcome.action or event.action, error=outcome.error)


def _outcome_json(outcome: Outcome, position: int | None) -> str:
    action = outcome.action.value if outcome.action else None
    where = {"position": position} if position is not None else {"id": outcome.event_id}
    return json.dumps({"outcome": {**where, "action": action, "error": outcome.error}})


class Spool:
    """Ordered events (and outcomes of stored events) waiting for the history to accept them."""

    def __init__(self, path: Path, limit: int = DEFAULT_LIMIT) -> None:
        self.path = path
        self.limit = limit
        self.entries: list[SpoolEntry] = []
        self.on_disk = True
        """False once a disk write failed: the file no longer mirrors ``entries``."""

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def events(self) -> int:
        return sum(isinstance(e, Event) for e in self.entries)

    def load(self) -> int:
        """Read what an earlier run left on disk (a torn last line is skipped); returns count."""
        try:
            lines = self.path.read_text(encoding="utf-8", errors="replace").splitlines()
        except FileNotFoundError:
            return 0
        except OSError as error:
            log.error("cannot read the spool %s: %s", self.path, error.strerror)
            self.on_disk = False
            return 0
        skipped = 0
        for line in lines:
            try:
                self._load_line(line)
            except (ValueError, KeyError, TypeError, IndexError):
                skipped += 1
        if skipped:
            log.error("skipped %d unreadable line(s) of the spool %s", skipped, self.path)
        return len(self.entries)

    def _load_line(self, line: str) -> None:
        if not line.strip():
            return
        if not line.startswith('{"outcome"'):
            self.entries.append(records.event_from_json(line))
            return
        data = json.loads(line)["outcome"]
        outcome = Outcome(int(data.get("id") or 0), Action(data["action"]) if data["action"]
                          else None, str(data["error"]))  # fmt: skip
        if data.get("position") is None:
            self.entries.append(outcome)
            return
        target = self.entries[int(data["position"])]
        if isinstance(target, Event):
            self.entries[int(data["position"])] = with_outcome(target, outcome)

    def add(self, events: list[Event]) -> None:
        """Append ``events`` in order; raises SpoolFull (adding none) when they do not fit."""
        if len(self.entries) + len(events) > self.limit:
            raise SpoolFull(f"spool full ({self.limit} entries)")
        self.entries.extend(events)
        self._append_lines([records.event_to_json(e) for e in events])

    def add_outcome(self, outcome: Outcome, event: Event | None = None) -> bool:
        """Record ``outcome``: onto ``event`` when it waits here (by identity), else by id.

        Returns False when neither applies (a spooled event not found and no id).
        """
        if event is not None:
            for position, entry in enumerate(self.entries):
                if entry is event:
                    self.entries[position] = with_outcome(event, outcome)
                    self._append_lines([_outcome_json(outcome, position)])
                    return True
        if outcome.event_id <= 0:
            return False
        if len(self.entries) >= self.limit:
            raise SpoolFull(f"spool full ({self.limit} entries)")
        self.entries.append(outcome)
        self._append_lines([_outcome_json(outcome, None)])
        return True

    def resync(self) -> bool:
        """Write every entry to disk again (after space came back); True once the file mirrors.

        A new file replaces the old in one rename, so a crash leaves one or the other whole.
        """
        if self.on_disk:
            return True
        lines = [
            records.event_to_json(e) if isinstance(e, Event) else _outcome_json(e, None)
            for e in self.entries
        ]
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as spool:
                spool.writelines(line + "\n" for line in lines)
                spool.flush()
                os.fsync(spool.fileno())
            tmp.replace(self.path)
        except OSError:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            return False
        self.on_disk = True
        log.info("the spool %s is on disk again (%d entries)", self.path, len(lines))
        return True

    def clear(self) -> None:
        """Forget every entry (they are in the database now) and remove the file."""
        self.entries = []
        try:
            self.path.unlink(missing_ok=True)
            self.on_disk = True
        except OSError as error:
            log.error("cannot remove the replayed spool %s: %s", self.path, error.strerror)
            self.on_disk = False

    def _append_lines(self, lines: list[str]) -> None:
        """Mirror to disk, fsync'd; a failure leaves the entries in memory only."""
        if not self.on_disk or not lines:
            return
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as spool:
                spool.writelines(line + "\n" for line in lines)
                spool.flush()
                os.fsync(spool.fileno())
        except OSError as error:
            self.on_disk = False
            log.error("cannot write the spool %s (%s): keeping events in memory only",
                      self.path, error.strerror)  # fmt: skip

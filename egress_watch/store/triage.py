"""Triage in the history database: acknowledge events, allow values by fingerprint.

An allowed fingerprint is still recorded on every event (its sightings keep counting) but is
never alerted on, redacted or blocked. The daemon notices a change to the allowlist table by
its row count and newest timestamp, so ``egress-watch allow`` applies without a restart.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from egress_watch.errors import EgressWatchError
from egress_watch.masking import FINGERPRINT_PREFIX
from egress_watch.model import utc_iso

log = logging.getLogger(__name__)

RELOAD_INTERVAL_S = 0.5
"""How often the daemon checks the allowlist table for changes (one indexed count)."""
FINGERPRINT_RE = re.compile(rf"^{re.escape(FINGERPRINT_PREFIX)}[0-9a-f]{{64}}$")
MAX_REASON = 500


class TriageError(EgressWatchError):
    """A triage command named something that does not exist or is malformed."""


@dataclass(frozen=True, slots=True)
class Allowed:
    """One allowlist entry: a fingerprint, its rule when known, why and when it was allowed."""

    fingerprint: str
    rule: str | None
    reason: str
    created_at: str


AllowlistVersion = tuple[int, str | None]


def check_fingerprint(value: str) -> str:
    """Accept exactly what events and block messages show: ``hmac-sha256:`` and 64 hex digits."""
    value = value.strip()
    if not FINGERPRINT_RE.match(value):
        raise TriageError(
            f"not a fingerprint: {value[:12]!r}… (expected {FINGERPRINT_PREFIX} followed by 64 "
            "hex digits, as shown by `egress-watch events --json` or a block message)"
        )
    return value


def acknowledge(
    conn: sqlite3.Connection, event_id: int, note: str | None, now: datetime | None = None
) -> None:
    """Mark an event as seen (again: the note and time are replaced)."""
    if conn.execute("SELECT 1 FROM events WHERE id = ?", (event_id,)).fetchone() is None:
        raise TriageError(f"no event with id {event_id} (see `egress-watch events`)")
    conn.execute(
        "INSERT INTO acknowledgements (event_id, acked_at, note) VALUES (?, ?, ?) "
        "ON CONFLICT(event_id) DO UPDATE SET acked_at = excluded.acked_at, note = excluded.note",
        (event_id, utc_iso(now or datetime.now(UTC)), note),
    )


def allow(
    conn: sqlite3.Connection, fingerprint: str, reason: str, now: datetime | None = None
) -> Allowed:
    """Allow a value by fingerprint; its rule is taken from the exposures seen so far."""
    fingerprint = check_fingerprint(fingerprint)
    reason = reason.strip()
    if not reason:
        raise TriageError("--reason must say why this value may leave")
    row = conn.execute("SELECT rule FROM exposures WHERE fingerprint = ?", (fingerprint,))
    found = row.fetchone()
    entry = Allowed(
        fingerprint, found[0] if found else None, reason[:MAX_REASON],
        utc_iso(now or datetime.now(UTC)),
    )  # fmt: skip
    conn.execute(
        "INSERT INTO allowlist (fingerprint, rule, reason, created_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(fingerprint) DO UPDATE SET rule = excluded.rule, reason = excluded.reason, "
        "created_at = excluded.created_at",
        (entry.fingerprint, entry.rule, entry.reason, entry.created_at),
    )
    return entry


def remove(conn: sqlite3.Connection, fingerprint: str) -> None:
    """Revoke an allowance; an unknown fingerprint is an error, so typos do not pass silently."""
    fingerprint = check_fingerprint(fingerprint)
    if conn.execute("DELETE FROM allowlist WHERE fingerprint = ?", (fingerprint,)).rowcount == 0:
        raise TriageError(f"{fingerprint} is not allowed (see `egress-watch allow --list`)")


def list_allowed(conn: sqlite3.Connection) -> list[Allowed]:
    """Every allowlist entry, oldest first."""
    rows = conn.execute(
        "SELECT fingerprint, rule, reason, created_at FROM allowlist ORDER BY created_at"
    )
    return [Allowed(*row) for row in rows]


def allowlist_version(conn: sqlite3.Connection) -> AllowlistVersion:
    """Changes whenever an entry is added, replaced or removed: (count, newest created_at)."""
    count, newest = conn.execute("SELECT count(*), max(created_at) FROM allowlist").fetchone()
    return int(count), newest


def allowed_fingerprints(conn: sqlite3.Connection) -> frozenset[str]:
    return frozenset(row[0] for row in conn.execute("SELECT fingerprint FROM allowlist"))


class AllowlistWatcher:
    """Re-reads the allowlist of a history database only when its version changed."""

    def __init__(self, database: Path) -> None:
        self.database = database
        self.version: AllowlistVersion | None = None
        self.fingerprints: frozenset[str] = frozenset()

    def refresh(self) -> bool:
        """Read the version (a cheap query) and, when it changed, the fingerprints; True then.

        A missing or unreadable database keeps the last known allowlist.
        """
        if not self.database.exists():
            return False
        try:
            conn = sqlite3.connect(f"{self.database.as_uri()}?mode=ro", uri=True, timeout=1.0)
        except sqlite3.Error:
            return False
        try:
            version = allowlist_version(conn)
            if version == self.version:
                return False
            self.fingerprints = allowed_fingerprints(conn)
            self.version = version
            return True
        except sqlite3.Error:
            return False
        finally:
            conn.close()

    async def watch(self, interval_s: float = RELOAD_INTERVAL_S) -> None:
        """Refresh every ``interval_s`` off the event loop, until cancelled."""
        while True:
            if await asyncio.to_thread(self.refresh):
                log.info(
                    "egress-watch: allowlist reloaded (%d fingerprints)", len(self.fingerprints)
                )
            await asyncio.sleep(interval_s)

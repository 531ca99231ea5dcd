"""Triage writes from the dashboard: acknowledge an event, allowlist a fingerprint.

The dashboard otherwise only reads. These two writes go straight to the ``acknowledgements`` and
``allowlist`` tables through a short-lived connection (WAL lets them run beside the daemon's
writer), so the daemon and ``egress-watch ack`` / ``allow`` see the same rows. No Textual here:
workers call these from a thread.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from egress_watch.errors import StoreError
from egress_watch.model import utc_iso

WRITE_TIMEOUT_S = 5


def _now() -> datetime:
    return datetime.now(UTC)


def _write(database: Path, sql: str, params: tuple[object, ...]) -> int:
    """Run one statement in its own transaction; returns the rows it changed."""
    if not database.exists():
        raise StoreError(f"{database}: no history yet")
    try:
        conn = sqlite3.connect(database, timeout=WRITE_TIMEOUT_S)
    except sqlite3.DatabaseError as error:
        raise StoreError(f"{database}: cannot open history database: {error}") from None
    try:
        with conn:
            return conn.execute(sql, params).rowcount
    except sqlite3.DatabaseError as error:
        raise StoreError(f"{database}: cannot write triage: {error}") from None
    finally:
        conn.close()


def acknowledge(
    database: Path, event_id: int, note: str = "", clock: Callable[[], datetime] = _now
) -> None:
    """Mark an event as seen and dealt with; acknowledging again replaces the note and time."""
    changed = _write(
        database,
        "INSERT INTO acknowledgements (event_id, acked_at, note) "
        "SELECT id, ?, ? FROM events WHERE id = ? "
        "ON CONFLICT (event_id) DO UPDATE SET acked_at = excluded.acked_at, note = excluded.note",
        (utc_iso(clock()), note.strip() or None, event_id),
    )
    if not changed:
        raise StoreError(f"no event #{event_id} in the history")


def allow(
    database: Path,
    fingerprint: str,
    rule: str,
    reason: str,
    clock: Callable[[], datetime] = _now,
) -> None:
    """Allowlist a value by its fingerprint, so later sightings of it are no longer alerts."""
    if not reason.strip():
        raise ValueError("an allowlist entry needs a reason")
    _write(
        database,
        "INSERT INTO allowlist (fingerprint, rule, reason, created_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (fingerprint) DO UPDATE SET rule = excluded.rule, reason = excluded.reason",
        (fingerprint, rule, reason.strip(), utc_iso(clock())),
    )

"""Triage writes from the dashboard: acknowledge an event, allowlist a fingerprint.

The dashboard otherwise only reads. These run ``egress_watch.store.triage`` (the same rules and
statements as ``egress-watch ack`` / ``allow``) in a short-lived connection of their own (WAL
lets it write beside the daemon's writer). No Textual here: workers call these from a thread.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from egress_watch.errors import StoreError
from egress_watch.store import triage

WRITE_TIMEOUT_S = 5


def _now() -> datetime:
    return datetime.now(UTC)


def _in_transaction(database: Path, action: Callable[..., Any], *args: Any) -> None:
    """Run one triage action in its own transaction on a short-lived connection."""
    if not database.exists():
        raise StoreError(f"{database}: no history yet")
    try:
        conn = sqlite3.connect(database, timeout=WRITE_TIMEOUT_S)
    except sqlite3.DatabaseError as error:
        raise StoreError(f"{database}: cannot open history database: {error}") from None
    try:
        with conn:
            action(conn, *args)
    except sqlite3.DatabaseError as error:
        raise StoreError(f"{database}: cannot write triage: {error}") from None
    finally:
        conn.close()


def acknowledge(
    database: Path, event_id: int, note: str = "", clock: Callable[[], datetime] = _now
) -> None:
    """Mark an event as seen and dealt with; acknowledging again replaces the note and time."""
    _in_transaction(database, triage.acknowledge, event_id, note.strip() or None, clock())


def allow(
    database: Path, fingerprint: str, reason: str, clock: Callable[[], datetime] = _now
) -> None:
    """Allowlist a value by its fingerprint, so later sightings of it are no longer alerts."""
    _in_transaction(database, triage.allow, fingerprint, reason, clock())

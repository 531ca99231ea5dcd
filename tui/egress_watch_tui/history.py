"""Read the history for the dashboard; no Textual here, so any thread may call it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from egress_watch.store.database import open_reader
from egress_watch.store.queries import EventFilter, list_events

FEED_LIMIT = 500
"""Rows per read: the first load shows the newest this many; a poll asks for at most this many."""


def read_events(
    database: Path, after_id: int | None, limit: int = FEED_LIMIT
) -> list[dict[str, Any]] | None:
    """Events newer than ``after_id`` (newest first), or None while the database does not exist.

    An empty file counts as missing: the daemon creates the file a moment before it migrates it.
    Each call opens and closes its own read-only connection, so the calling thread owns it outright.
    """
    try:
        size = database.stat().st_size
    except FileNotFoundError:
        return None
    if size == 0:
        return None
    db = open_reader(database)
    try:
        return list_events(db, EventFilter(after_id=after_id, limit=limit))
    finally:
        db.conn.close()

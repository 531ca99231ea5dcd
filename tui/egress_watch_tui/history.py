"""Read the history for the dashboard; no Textual here, so any thread may call it."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from egress_watch.store.dashboard import FeedPage, Overview, event_detail, feed_page, overview
from egress_watch.store.database import open_reader
from egress_watch.store.sqlite import Database
from egress_watch_tui.filters import FeedFilter

FEED_LIMIT = 500
"""Rows per read: the first load shows the newest this many; a poll asks for at most this many."""

PAGE_LIMIT = 200
"""Rows per older page, read when the cursor reaches the bottom of the feed."""


def _exists(database: Path) -> bool:
    """An empty file counts as missing: the daemon creates the file a moment before migrating it."""
    try:
        return database.stat().st_size > 0
    except FileNotFoundError:
        return False


def _read[T](database: Path, reader: Callable[[Database], T]) -> T | None:
    """Run ``reader`` on a fresh read-only connection owned by this thread; None if no history."""
    if not _exists(database):
        return None
    with _reader(database) as db:
        return reader(db)


@contextmanager
def _reader(database: Path) -> Any:
    db = open_reader(database)
    try:
        yield db
    finally:
        db.conn.close()


def read_page(
    database: Path,
    feed_filter: FeedFilter,
    now: datetime,
    *,
    after_id: int | None = None,
    before_id: int | None = None,
    limit: int | None = None,
) -> FeedPage | None:
    """A page of events for the feed (see ``feed_page``), or None while there is no history."""
    query = feed_filter.query(now, limit or FEED_LIMIT, after_id)
    return _read(database, lambda db: feed_page(db, query, feed_filter.text, before_id))


def read_events(
    database: Path, after_id: int | None, limit: int = FEED_LIMIT
) -> list[dict[str, Any]] | None:
    """Unfiltered events newer than ``after_id`` (newest first), or None without a history."""
    page = read_page(database, FeedFilter(), datetime.now().astimezone(), after_id=after_id,
                     limit=limit)  # fmt: skip
    return None if page is None else page.events


def read_detail(database: Path, event_id: int) -> dict[str, Any] | None:
    """One event with findings and triage state; None if it (or the history) is gone."""
    return _read(database, lambda db: event_detail(db, event_id))


def read_overview(database: Path, now: datetime) -> Overview | None:
    """The overview figures, or None while there is no history."""
    return _read(database, lambda db: overview(db, now))

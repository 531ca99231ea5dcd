"""The one writer: a thread that commits events in small batches and confirms each commit.

The proxy waits on the returned future before forwarding, which is how "committed before
forwarded" holds without blocking mitmproxy's event loop.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
from concurrent.futures import Future
from pathlib import Path

from egress_watch.model import Event
from egress_watch.store.database import open_writer

log = logging.getLogger(__name__)

MAX_BATCH = 256

_INSERT_EVENT = """
INSERT INTO events (ts, service, family, host, method, path, bytes_out, action, severity,
    severity_rank, finding_count, segment_count, uninspected_reason, error, client)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
_INSERT_FINDING = """
INSERT INTO findings (event_id, category, rule, severity, severity_rank, masked, fingerprint,
    start, "end", segment_index, role, message_index, reason)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""

_Item = tuple[Event, "Future[int]"]


def insert_event(conn: sqlite3.Connection, event: Event) -> int:
    """Insert one event and its findings inside the caller's transaction; return its id."""
    severity = event.severity
    cursor = conn.execute(
        _INSERT_EVENT,
        (
            event.timestamp, event.service, event.family, event.host, event.method, event.path,
            event.bytes_out, event.action.value, severity.label if severity else None,
            int(severity or 0), len(event.findings), event.segment_count,
            event.uninspected_reason, event.error, event.client,
        ),
    )  # fmt: skip
    event_id = cursor.lastrowid
    assert event_id is not None  # an INSERT always sets lastrowid
    conn.executemany(
        _INSERT_FINDING,
        [
            (
                event_id, f.category.value, f.rule, f.severity.label, int(f.severity), f.masked,
                f.fingerprint, f.start, f.end, f.segment_index, f.role, f.message_index, f.reason,
            )
            for f in event.findings
        ],
    )  # fmt: skip
    return event_id


class EventWriter:
    """Owns the write connection; everything else submits events through ``submit``."""

    def __init__(self, path: Path) -> None:
        self._db = open_writer(path)
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="egress-watch-writer", daemon=True)
        self._thread.start()

    def submit(self, event: Event) -> Future[int]:
        """Queue ``event``; the future resolves to its row id once committed."""
        future: Future[int] = Future()
        self._queue.put((event, future))
        return future

    def write(self, event: Event, timeout: float | None = 30) -> int:
        """Submit and wait for the commit (for callers that are not on an event loop)."""
        return self.submit(event).result(timeout)

    def close(self) -> None:
        """Commit everything queued, then stop the thread and close the database."""
        self._queue.put(None)
        self._thread.join()
        self._db.conn.close()

    def _next_batch(self) -> tuple[list[_Item], bool]:
        first = self._queue.get()
        if first is None:
            return [], True
        batch = [first]
        while len(batch) < MAX_BATCH:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                return batch, True
            batch.append(item)
        return batch, False

    def _run(self) -> None:
        stopping = False
        while not stopping:
            batch, stopping = self._next_batch()
            if batch:
                self._commit(batch)

    def _commit(self, batch: list[_Item]) -> None:
        conn = self._db.conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            ids = [insert_event(conn, event) for event, _ in batch]
            conn.execute("COMMIT")
        except sqlite3.Error as error:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            log.error("history write failed: %s", error)
            for _, future in batch:
                future.set_exception(error)
            return
        for (_, future), event_id in zip(batch, ids, strict=True):
            future.set_result(event_id)

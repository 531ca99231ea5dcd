"""The one writer: a thread that commits events in small batches and confirms each commit.

The proxy waits on the returned future before forwarding, which is how "committed before
forwarded" holds without blocking mitmproxy's event loop. When the database cannot be written
(locked, corrupt, disk full) events go to an append-only spool file instead, so nothing is
lost and the request still goes on; the spool is replayed into the database once it works.
Between batches, when idle, the writer prunes events older than the retention period in small
transactions, so pruning never holds the write lock for long.
"""

from __future__ import annotations

import logging
import os
import queue
import sqlite3
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from egress_watch.model import Event, HostSighting, RestoreOutcome, utc_iso
from egress_watch.store import records
from egress_watch.store.database import BUSY_TIMEOUT_MS, open_writer

log = logging.getLogger(__name__)

MAX_BATCH = 256
SPOOLED = 0
"""The id a future resolves to when its event went to the spool instead of the database."""

_Item = tuple[Event | HostSighting | RestoreOutcome, "Future[int]"]
_INSERT_EVENT = records.insert_sql("events", records.EVENT_COLUMNS)
_INSERT_FINDING = records.insert_sql("findings", records.FINDING_COLUMNS)


@dataclass(frozen=True, slots=True)
class Retention:
    """How long events are kept, and how pruning is paced."""

    days: int = 90
    batch: int = 500
    interval_s: float = 60.0
    start_delay_s: float = 1.0
    """Let the daemon come up before the first pruning pass."""


def outbox_enabled(conn: sqlite3.Connection) -> bool:
    """Whether an export sink is active (then every event also gets an outbox row)."""
    return conn.execute(records.OUTBOX_ENABLED).fetchone() is not None


def insert_event(conn: sqlite3.Connection, event: Event, outbox: bool = False) -> int:
    """Insert one event, its findings and exposure sightings in the caller's transaction.

    With ``outbox``, also its export outbox row: delivered exactly when the event is stored.
    """
    event_id = conn.execute(_INSERT_EVENT, records.event_row(event)).lastrowid
    if event_id is None:  # pragma: no cover - an INSERT always sets lastrowid
        raise sqlite3.DatabaseError("insert returned no row id")
    conn.executemany(_INSERT_FINDING, [records.finding_row(event_id, f) for f in event.findings])
    conn.executemany(
        records.UPSERT_EXPOSURE,
        [records.exposure_params(event_id, event, f) for f in records.distinct_exposures(event)],
    )
    if outbox:
        conn.execute(records.INSERT_OUTBOX, (event_id,))
    return event_id


def prune_batch(conn: sqlite3.Connection, cutoff: str, batch: int) -> int:
    """Delete up to ``batch`` of the oldest events before ``cutoff``; exposures stay."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        ids = [row[0] for row in conn.execute(
            "SELECT id FROM events WHERE ts < ? ORDER BY id LIMIT ?", (cutoff, batch)
        )]  # fmt: skip
        if ids:
            marks = ",".join("?" * len(ids))
            for table, column in (("findings", "event_id"), ("acknowledgements", "event_id"),
                                  ("events", "id")):  # fmt: skip
                conn.execute(f"DELETE FROM {table} WHERE {column} IN ({marks})", ids)  # noqa: S608
        conn.execute("COMMIT")
    except sqlite3.Error:
        conn.execute("ROLLBACK")
        raise
    return len(ids)


class EventWriter:
    """Owns the write connection; everything else submits events through ``submit``."""

    def __init__(
        self,
        path: Path,
        spool: Path | None = None,
        retention: Retention | None = None,
        busy_timeout_ms: int = BUSY_TIMEOUT_MS,
    ) -> None:
        self._path = path
        self._spool = spool or path.with_name(path.name + ".spool.jsonl")
        self._retention = retention or Retention()
        self._db = open_writer(path, busy_timeout_ms)
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._next_prune = time.monotonic() + self._retention.start_delay_s
        self._replay_spool()
        self._thread = threading.Thread(target=self._run, name="egress-watch-writer", daemon=True)
        self._thread.start()

    @property
    def spool_path(self) -> Path:
        return self._spool

    def submit(self, event: Event) -> Future[int]:
        """Queue ``event``; the future resolves to its row id once committed (0 if spooled)."""
        future: Future[int] = Future()
        self._queue.put((event, future))
        return future

    def record_host(self, sighting: HostSighting) -> Future[int]:
        """Count a connection in the hosts inventory (nobody waits on it before forwarding)."""
        future: Future[int] = Future()
        self._queue.put((sighting, future))
        return future

    def record_restore(self, outcome: RestoreOutcome) -> Future[int]:
        """Add an answer's restore counts to its event (nobody waits on it)."""
        future: Future[int] = Future()
        self._queue.put((outcome, future))
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
        try:
            first = self._queue.get(timeout=max(0.0, self._next_prune - time.monotonic()))
        except queue.Empty:
            return [], False
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
            if not stopping and time.monotonic() >= self._next_prune:
                self._prune_once()

    def _commit(self, batch: list[_Item]) -> None:
        conn = self._db.conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            outbox = outbox_enabled(conn)  # one indexed look-up per batch: cheap when unused
            ids = [self._insert(conn, item, outbox) for item, _ in batch]
            conn.execute("COMMIT")
        except sqlite3.Error as error:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            self._spool_batch(batch, error)
            return
        for (_, future), event_id in zip(batch, ids, strict=True):
            future.set_result(event_id)
        if self._spool.exists():
            self._replay_spool()

    @staticmethod
    def _insert(
        conn: sqlite3.Connection, item: Event | HostSighting | RestoreOutcome, outbox: bool
    ) -> int:
        if isinstance(item, HostSighting):
            conn.execute(records.UPSERT_HOST, records.host_params(item))
            return 0
        if isinstance(item, RestoreOutcome):
            conn.execute(
                records.ADD_RESTORE_COUNTS, (item.restored, item.unrestored, item.event_id)
            )
            return item.event_id
        return insert_event(conn, item, outbox)

    def _spool_batch(self, batch: list[_Item], error: sqlite3.Error) -> None:
        """Keep the events in the append-only spool; fail their futures only if that fails too."""
        log.error("history write failed (%s); spooling %d event(s) to %s", error, len(batch),
                  self._spool)  # fmt: skip
        try:
            fd = os.open(self._spool, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as spool:
                spool.writelines(
                    records.event_to_json(item) + "\n"
                    for item, _ in batch
                    if isinstance(item, Event)  # host counts are statistics: not worth a spool
                )
                spool.flush()
                os.fsync(spool.fileno())
        except OSError as spool_error:
            for _, future in batch:
                future.set_exception(spool_error)
            return
        for _, future in batch:
            future.set_result(SPOOLED)

    def _replay_spool(self) -> None:
        """Move spooled events into the database in one transaction, then drop the spool."""
        try:
            lines = self._spool.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return
        conn = self._db.conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            outbox = outbox_enabled(conn)
            for line in lines:
                if line.strip():
                    insert_event(conn, records.event_from_json(line), outbox)
            conn.execute("COMMIT")
        except sqlite3.Error as error:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            log.warning("spool replay postponed: %s", error)
            return
        self._spool.unlink()
        log.info("replayed %d spooled event(s) into %s", len(lines), self._path)

    def _prune_once(self) -> None:
        now = time.monotonic()
        try:
            cutoff = utc_iso(datetime.now(UTC) - timedelta(days=self._retention.days))
        except OverflowError:  # a retention longer than the calendar: nothing is ever old
            self._next_prune = now + self._retention.interval_s
            return
        try:
            pruned = prune_batch(self._db.conn, cutoff, self._retention.batch)
        except sqlite3.Error as error:
            log.warning("pruning postponed: %s", error)
            pruned = 0
        # Keep going (between event batches) while there is a backlog; else wait an interval.
        backlog = pruned == self._retention.batch
        self._next_prune = now if backlog else now + self._retention.interval_s

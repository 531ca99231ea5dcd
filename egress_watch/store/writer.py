"""The one writer: a thread that commits events in small batches and confirms each commit.

The proxy waits on the returned future before forwarding, which is how "committed before
forwarded" holds without blocking mitmproxy's event loop. When the database cannot be written
(locked, corrupt, disk full) events go to a bounded spool (memory, mirrored to a 0600 file where
the disk allows) and the writer reports itself degraded; every later event queues behind them,
and a timer replays the spool in one transaction as soon as the database works, so ids keep the
order the events happened in. Only when the spool is full too is an event lost: counted, and
written onto the next event stored.
Between batches, when idle, the writer prunes events older than the retention period in small
transactions, so pruning never holds the write lock for long.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
import time
from collections import OrderedDict
from concurrent.futures import Future
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from egress_watch.model import Action, Event, HostSighting, RestoreOutcome, utc_iso
from egress_watch.store import records
from egress_watch.store.database import BUSY_TIMEOUT_MS, open_writer
from egress_watch.store.spool import DEFAULT_LIMIT, Outcome, Spool, SpoolFull

log = logging.getLogger(__name__)

MAX_BATCH = 256
SPOOLED = 0
"""The id a future resolves to when its event went to the spool instead of the database."""

REPLAY_INTERVAL_S = 1.0
"""How often a degraded writer tries to move the spool into the history."""
PROBE_BUSY_TIMEOUT_MS = 200
"""While degraded, a locked history is given up on quickly: the spool is there meanwhile."""

__all__ = ["SPOOLED", "EventWriter", "HistoryHealth", "Retention", "SpoolFull", "prune_batch"]


@dataclass(frozen=True, slots=True)
class _Update:
    outcome: Outcome
    event: Event


_Queued = Event | HostSighting | RestoreOutcome | _Update
_Item = tuple[_Queued, "Future[int]"]
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


@dataclass(frozen=True, slots=True)
class HistoryHealth:
    """Whether events reach the history; published in ``status`` (replaced whole, never mutated)."""

    degraded: bool = False
    reason: str | None = None
    since: float | None = None
    """Unix time the history stopped taking writes."""
    spooled: int = 0
    lost: int = 0
    """Events neither the history nor the spool could take, since the daemon started."""


def apply_outcome(conn: sqlite3.Connection, outcome: Outcome) -> int:
    """Write an upstream failure onto a stored event; returns its id (0 when it is gone)."""
    action = outcome.action.value if outcome.action else None
    cursor = conn.execute(
        "UPDATE events SET action = coalesce(?, action), error = ? WHERE id = ?",
        (action, outcome.error, outcome.event_id),
    )
    return outcome.event_id if cursor.rowcount else 0


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
        spool_limit: int = DEFAULT_LIMIT,
        replay_interval_s: float = REPLAY_INTERVAL_S,
    ) -> None:
        self._path = path
        self._spool = Spool(spool or path.with_name(path.name + ".spool.jsonl"), spool_limit)
        self._retention = retention or Retention()
        self._busy_timeout_ms = busy_timeout_ms
        self._replay_interval_s = replay_interval_s
        self._db = open_writer(path, busy_timeout_ms)
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._next_prune = time.monotonic() + self._retention.start_delay_s
        self._next_replay = time.monotonic()
        self._health = HistoryHealth()
        self._lost_unreported = 0
        self._replayed: OrderedDict[int, tuple[Event, int]] = OrderedDict()
        if self._spool.load():
            self._degrade("events left in the spool by an earlier run")
            self._replay_spool()
        self._thread = threading.Thread(target=self._run, name="egress-watch-writer", daemon=True)
        self._thread.start()

    @property
    def spool_path(self) -> Path:
        return self._spool.path

    def health(self) -> HistoryHealth:
        """A snapshot of whether the history is written, and what waits or was lost."""
        return self._health

    def submit(self, event: Event) -> Future[int]:
        """Queue ``event``; the future resolves to its row id once committed (0 if spooled).

        It raises SpoolFull when neither the history nor the spool could take the event.
        """
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

    def record_outcome(
        self, event_id: int, event: Event, action: Action | None, error: str
    ) -> Future[int]:
        """Write what became of a recorded request (the upstream failed) onto its event.

        ``event_id`` is what ``submit`` returned (0 when it was spooled: ``event`` finds it).
        """
        future: Future[int] = Future()
        self._queue.put((_Update(Outcome(event_id, action, error), event), future))
        return future

    def write(self, event: Event, timeout: float | None = 30) -> int:
        """Submit and wait for the commit (for callers that are not on an event loop)."""
        return self.submit(event).result(timeout)

    def close(self) -> None:
        """Commit everything queued, then stop the thread and close the database."""
        self._queue.put(None)
        self._thread.join()
        self._db.conn.close()

    def _next_wakeup(self) -> float:
        due = self._next_prune
        if len(self._spool):
            due = min(due, self._next_replay)
        return max(0.0, due - time.monotonic())

    def _next_batch(self) -> tuple[list[_Item], bool]:
        try:
            first = self._queue.get(timeout=self._next_wakeup())
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
            if len(self._spool) and time.monotonic() >= self._next_replay:
                self._replay_spool()  # before the batch: spooled events keep their place
            if batch:
                self._commit(batch)
            if not stopping and time.monotonic() >= self._next_prune and not len(self._spool):
                self._prune_once()
        if len(self._spool):
            self._replay_spool()
        if len(self._spool) and not self._spool.on_disk:
            log.error("stopping with %d spooled event(s) the disk could not keep: they are lost",
                      self._spool.events)  # fmt: skip

    def _commit(self, batch: list[_Item]) -> None:
        batch = self._resolve_replayed(batch)
        if len(self._spool):  # still degraded: queue behind the spooled events, in order
            self._spool_batch(batch)
            return
        conn = self._db.conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            outbox = outbox_enabled(conn)  # one indexed look-up per batch: cheap when unused
            ids = [self._insert(conn, item, outbox) for item, _ in self._report_loss(batch)]
            conn.execute("COMMIT")
        except sqlite3.Error as error:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            self._degrade(str(error))
            self._spool_batch(batch)
            return
        if any(isinstance(item, Event) for item, _ in batch):
            self._lost_unreported = 0
        for (_, future), event_id in zip(batch, ids, strict=True):
            future.set_result(event_id)

    def _report_loss(self, batch: list[_Item]) -> list[_Item]:
        """Write the count of lost events onto the next event stored (its ``error``)."""
        if not self._lost_unreported:
            return batch
        for index, (item, future) in enumerate(batch):
            if isinstance(item, Event):
                note = f"{self._lost_unreported} earlier event(s) lost: history and spool full"
                marked = replace(item, error=f"{item.error}; {note}" if item.error else note)
                return [*batch[:index], (marked, future), *batch[index + 1 :]]
        return batch

    def _resolve_replayed(self, batch: list[_Item]) -> list[_Item]:
        """Outcomes of events spooled, then replayed meanwhile, now know their row id."""
        resolved: list[_Item] = []
        for item, future in batch:
            if isinstance(item, _Update) and item.outcome.event_id <= 0:
                known = self._replayed.get(id(item.event))
                if known is not None and known[0] is item.event:
                    item = _Update(replace(item.outcome, event_id=known[1]), item.event)
            resolved.append((item, future))
        return resolved

    @staticmethod
    def _insert(conn: sqlite3.Connection, item: _Queued, outbox: bool) -> int:
        if isinstance(item, HostSighting):
            conn.execute(records.UPSERT_HOST, records.host_params(item))
            return 0
        if isinstance(item, RestoreOutcome):
            conn.execute(
                records.ADD_RESTORE_COUNTS, (item.restored, item.unrestored, item.event_id)
            )
            return item.event_id
        if isinstance(item, _Update):
            return apply_outcome(conn, item.outcome)
        return insert_event(conn, item, outbox)

    def _degrade(self, reason: str) -> None:
        if not self._health.degraded:
            log.error("history write failed (%s); spooling events until it works again", reason)
        self._health = replace(
            self._health,
            degraded=True,
            reason=reason,
            since=self._health.since or time.time(),
            spooled=self._spool.events,
        )
        self._next_replay = time.monotonic() + self._replay_interval_s
        self._db.conn.execute(f"PRAGMA busy_timeout = {PROBE_BUSY_TIMEOUT_MS}")

    def _spool_batch(self, batch: list[_Item]) -> None:
        """Keep events (and outcomes) in the spool, in order; host counts are not worth it."""
        kept = self._report_loss(batch)
        failures: list[SpoolFull | None] = []
        for (item, _), (original, _) in zip(kept, batch, strict=True):
            failures.append(None)
            try:
                if isinstance(item, Event):
                    self._spool.add([item])
                    if item is not original:
                        self._lost_unreported = 0
                elif isinstance(item, _Update):
                    self._spool.add_outcome(item.outcome, item.event)
            except SpoolFull as full:
                failures[-1] = full
                if isinstance(item, Event):
                    self._lost_unreported += 1
                    self._health = replace(self._health, lost=self._health.lost + 1)
        # Health first: whoever sees a future resolve also sees the counts that include it.
        self._health = replace(self._health, spooled=self._spool.events)
        for (_, future), failure in zip(batch, failures, strict=True):
            if failure is None:
                future.set_result(SPOOLED)
            else:
                future.set_exception(failure)

    def _replay_spool(self) -> None:
        """Move the spool into the database in one transaction, in order; retry on a timer."""
        conn = self._db.conn
        entries = self._spool.entries
        try:
            conn.execute("BEGIN IMMEDIATE")
            outbox = outbox_enabled(conn)
            ids = [
                insert_event(conn, e, outbox) if isinstance(e, Event) else apply_outcome(conn, e)
                for e in entries
            ]
            conn.execute("COMMIT")
        except sqlite3.Error as error:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            self._next_replay = time.monotonic() + self._replay_interval_s
            self._health = replace(self._health, reason=str(error))
            self._spool.resync()  # the disk may have room again before the history does
            return
        for entry, event_id in zip(entries, ids, strict=True):
            if isinstance(entry, Event):
                self._replayed[id(entry)] = (entry, event_id)
        while len(self._replayed) > self._spool.limit:
            self._replayed.popitem(last=False)
        replayed = self._spool.events
        self._spool.clear()
        conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
        self._health = replace(HistoryHealth(), lost=self._health.lost)
        log.info("history writable again: replayed %d spooled event(s) into %s", replayed,
                 self._path)  # fmt: skip

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

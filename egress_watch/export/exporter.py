"""The background exporter: one thread per sink, in order, in batches, at least once.

Each sink thread reads the outbox after its cursor, sends a batch and advances the cursor
once the sink confirms it; a failure keeps the cursor, waits (exponential backoff with full
jitter) and resends from the last confirmed row. Because progress lives in SQLite, a daemon
restart or a receiver outage resumes where delivery stopped; duplicates are possible, losses
are not, and every record carries its event uid for receivers to drop duplicates.
"""

from __future__ import annotations

import collections
import contextlib
import getpass
import logging
import os
import random
import socket
import sqlite3
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from egress_watch.config.export_sinks import SinkConfig
from egress_watch.export import outbox
from egress_watch.export.schema import BUILDERS, Identity, event_uid
from egress_watch.export.sink import Record, Sink, SinkError
from egress_watch.model import utc_iso

log = logging.getLogger(__name__)

POLL_S = 0.2
TRIM_EVERY_S = 5.0
BACKLOG_WARN_RATIO = 0.8
STOP_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class ExportOptions:
    """What the exporter needs from Settings."""

    sinks: tuple[SinkConfig, ...] = ()
    drop_paths: bool = False
    max_backlog: int = 100_000


def backoff_delay(attempt: int, base: float, cap: float, rng: Callable[[], float]) -> float:
    """Full jitter (AWS architecture blog): uniform in [0, min(cap, base * 2**attempt)]."""
    return float(rng() * min(cap, base * 2 ** min(attempt, 30)))


def local_identity(hmac_key: bytes) -> Identity:
    """This workstation: host name, login name and the install id."""
    from egress_watch.export.schema import install_id

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return Identity(socket.gethostname(), user, install_id(hmac_key))


def make_sink(config: SinkConfig, identity: Identity) -> Sink:
    """Build the sink object for one ``[[export.sinks]]`` entry."""
    if config.kind == "syslog":
        from egress_watch.export.syslog import SyslogSink

        return SyslogSink(config, identity.hostname, os.getpid())
    if config.kind == "otlp":
        from egress_watch.export.otlp import OtlpSink

        return OtlpSink(config, identity)
    if config.kind == "file":
        from egress_watch.export.files import FileSink

        return FileSink(config)
    from egress_watch.export.webhook import WebhookSink

    return WebhookSink(config, identity.hostname)


def _open_sink(config: SinkConfig, identity: Identity) -> Sink:
    """``make_sink``, with a bad CA file or an unreadable key counted as a delivery failure."""
    try:
        return make_sink(config, identity)
    except (OSError, ssl.SSLError, ValueError) as error:
        raise SinkError(f"cannot set up sink {config.name}: {error}") from None


def connect(database: Path) -> sqlite3.Connection:
    """A connection of the exporter's own (implicit transactions, waits on the writer's lock)."""
    conn = sqlite3.connect(database, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA busy_timeout = 30000")
    return conn


class SinkWorker:
    """Delivers the outbox to one sink, from its own thread."""

    def __init__(
        self,
        database: Path,
        config: SinkConfig,
        identity: Identity,
        options: ExportOptions,
        stop: threading.Event,
    ) -> None:
        self.config = config
        self._database = database
        self._identity = identity
        self._build = BUILDERS[config.format]
        self._drop_paths = options.drop_paths
        self._stop = stop
        self._rng = random.Random()  # noqa: S311 - jitter, not cryptography
        self.thread = threading.Thread(
            target=self._run, name=f"egress-watch-export-{config.name}", daemon=True
        )

    def _records(self, conn: sqlite3.Connection, batch: Sequence[outbox.Pending]) -> list[Record]:
        """Build this sink's records for a batch (events pruned meanwhile are skipped)."""
        events = outbox.load_events(conn, [p.event_id for p in batch])
        records = []
        for pending in batch:
            event = events.get(pending.event_id)
            if event is None:  # pruned by retention before it could be sent
                continue
            document = self._build(pending.event_id, event, self._identity, self._drop_paths)
            records.append(
                Record(
                    pending.event_id,
                    event_uid(self._identity, pending.event_id),
                    event.timestamp,
                    event.severity,
                    document,
                )
            )
        return records

    def _run(self) -> None:
        """Deliver until stopped: send after ``sent``, confirm up to ``delivered``, retry."""
        name = self.config.name
        conn = connect(self._database)
        sink: Sink | None = None
        delivered = sent = outbox.cursor(conn, name)
        unconfirmed: collections.deque[tuple[int, int, float]] = collections.deque()
        attempt = 0
        try:
            while not self._stop.is_set():
                try:
                    if sink is None:
                        sink = _open_sink(self.config, self._identity)
                    delivered = self._confirm(conn, sink, unconfirmed, delivered)
                    batch = outbox.next_batch(conn, name, sent, self.config.batch)
                    if not batch:
                        self._stop.wait(POLL_S)
                        continue
                    records = self._records(conn, batch)
                    sent = batch[-1].outbox_id
                    if records:
                        sink.send(records)
                        unconfirmed.append((sent, len(records), time.monotonic()))
                    elif not unconfirmed:  # only pruned events: nothing to wait for
                        outbox.advance(conn, name, sent, 0, utc_iso(datetime.now(UTC)))
                        delivered = sent
                    attempt = 0
                except (SinkError, sqlite3.Error) as error:
                    log.warning("export to %s failed: %s", name, error)
                    with contextlib.suppress(sqlite3.Error):
                        outbox.record_error(conn, name, str(error), utc_iso(datetime.now(UTC)))
                    sent = delivered  # resend everything not confirmed, in order
                    unconfirmed.clear()
                    delay = backoff_delay(attempt, 0.25, self.config.retry_max_s, self._rng.random)
                    attempt += 1
                    self._stop.wait(delay)
            if sink is not None:  # stopping: confirm what the receiver has, within a bound
                deadline = time.monotonic() + sink.confirm_delay_s + 1.0
                while unconfirmed and time.monotonic() < deadline:
                    delivered = self._confirm(conn, sink, unconfirmed, delivered)
                    if unconfirmed:
                        threading.Event().wait(0.05)
        except (SinkError, sqlite3.Error) as error:  # at start-up or while stopping
            log.error("export to %s stopped: %s", name, error)
        finally:
            if sink is not None:
                sink.close()
            conn.close()

    def _confirm(
        self,
        conn: sqlite3.Connection,
        sink: Sink,
        unconfirmed: collections.deque[tuple[int, int, float]],
        delivered: int,
    ) -> int:
        """Advance the cursor over batches the sink confirms; raise SinkError if it lost them."""
        if not unconfirmed:
            return delivered
        settled = time.monotonic() - sink.confirm_delay_s
        ready = [u for u in unconfirmed if u[2] <= settled]
        if not ready:
            return delivered
        health = sink.check() if sink.confirm_delay_s else "ok"
        if health == "dead":
            raise SinkError("the receiver closed the connection; resending unconfirmed events")
        if health == "wait":
            return delivered
        for _ in ready:
            unconfirmed.popleft()
        last = ready[-1][0]
        outbox.advance(
            conn, self.config.name, last, sum(u[1] for u in ready), utc_iso(datetime.now(UTC))
        )
        return last


class Exporter:
    """Starts one worker per configured sink, trims the outbox, and stops them on demand."""

    def __init__(self, database: Path, hmac_key: bytes, options: ExportOptions) -> None:
        self._database = database
        self._options = options
        self._identity = local_identity(hmac_key)
        self._stop = threading.Event()
        self._workers = [
            SinkWorker(database, s, self._identity, options, self._stop) for s in options.sinks
        ]
        self._trimmer = threading.Thread(
            target=self._trim_loop, name="egress-watch-export-trim", daemon=True
        )

    def start(self) -> None:
        """Register the sinks (so the writer fills the outbox, or stops) and start delivering."""
        from egress_watch.store.database import open_writer  # creates and migrates on first run

        db = open_writer(self._database)
        try:
            outbox.register_sinks(db.conn, [s.name for s in self._options.sinks])
        finally:
            db.conn.close()
        for worker in self._workers:
            worker.thread.start()
        if self._workers:
            self._trimmer.start()
            log.info(
                "egress-watch: exporting to %s", ", ".join(s.name for s in self._options.sinks)
            )

    def stop(self) -> None:
        """Stop after the batches in flight; whatever is unconfirmed is resent next start."""
        self._stop.set()
        for thread in [w.thread for w in self._workers] + [self._trimmer]:
            if thread.is_alive():
                thread.join(STOP_TIMEOUT_S)

    def _trim_loop(self) -> None:
        """Every few seconds: drop delivered rows, bound the backlog, warn when it is high."""
        conn = connect(self._database)
        warned = False
        try:
            while not self._stop.wait(TRIM_EVERY_S):
                try:
                    dropped = outbox.trim(conn, self._options.max_backlog)
                    lag = conn.execute("SELECT count(*) FROM outbox").fetchone()[0]
                except sqlite3.Error as error:
                    log.warning("export outbox trim postponed: %s", error)
                    continue
                if dropped:
                    log.error(
                        "export backlog full (%d events): dropped the %d oldest",
                        self._options.max_backlog,
                        dropped,
                    )
                high = lag >= BACKLOG_WARN_RATIO * self._options.max_backlog
                if high and not warned:
                    log.warning(
                        "export backlog at %d of %d events; is a sink down? "
                        "(egress-watch export status)",
                        lag,
                        self._options.max_backlog,
                    )
                warned = high
        finally:
            conn.close()

"""The outbox and the delivery cursors in SQLite: what each sink still has to receive.

One outbox row per event (``sink`` NULL: every sink; a name: a replay for that sink only).
Each sink's cursor is the last outbox id it confirmed; rows every active sink has passed are
deleted. Events themselves are read back from the history tables at delivery time.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from egress_watch.model import Action, Category, Event, Finding, ProcessInfo, Severity, Source

_EVENT_SQL = """
SELECT id, ts, service, family, host, method, path, bytes_out, action, segment_count,
    uninspected_reason, error, client, model, conversation_key, process_pid, process_name,
    process_exe, process_cmdline, process_parents, process_cwd, process_repo, jurisdictions, region,
    tool
FROM events WHERE id IN ({marks})
"""
_FINDING_SQL = """
SELECT event_id, category, rule, severity_rank, start, "end", masked, fingerprint, segment_index,
    reason, role, message_index, path_hint, source_repo, source_path, source_start_line,
    source_end_line, score, stopped
FROM findings WHERE event_id IN ({marks}) ORDER BY id
"""


@dataclass(frozen=True, slots=True)
class Pending:
    """An outbox row waiting for a sink."""

    outbox_id: int
    event_id: int


def register_sinks(conn: sqlite3.Connection, names: Sequence[str]) -> None:
    """Mark exactly ``names`` active (new ones start at the outbox's beginning)."""
    with conn:
        conn.execute("UPDATE export_cursors SET active = 0 WHERE active = 1")
        conn.executemany(
            "INSERT INTO export_cursors (sink, active) VALUES (?, 1) "
            "ON CONFLICT (sink) DO UPDATE SET active = 1",
            [(name,) for name in names],
        )


def cursor(conn: sqlite3.Connection, sink: str) -> int:
    """The last outbox id ``sink`` confirmed."""
    row = conn.execute("SELECT delivered_id FROM export_cursors WHERE sink = ?", (sink,)).fetchone()
    return int(row[0]) if row else 0


def next_batch(conn: sqlite3.Connection, sink: str, after: int, limit: int) -> list[Pending]:
    """The next outbox rows for ``sink`` after id ``after``, oldest first."""
    rows = conn.execute(
        "SELECT id, event_id FROM outbox WHERE id > ? AND (sink IS NULL OR sink = ?) "
        "ORDER BY id LIMIT ?",
        (after, sink, limit),
    )
    return [Pending(int(i), int(e)) for i, e in rows]


def advance(conn: sqlite3.Connection, sink: str, delivered_id: int, count: int, now: str) -> None:
    """Record that ``sink`` confirmed everything up to ``delivered_id``."""
    with conn:
        conn.execute(
            "UPDATE export_cursors SET delivered_id = max(delivered_id, ?), "
            "delivered = delivered + ?, delivered_at = ? WHERE sink = ?",
            (delivered_id, count, now, sink),
        )


def record_error(conn: sqlite3.Connection, sink: str, error: str, now: str) -> None:
    """Count a failed delivery (the message names the failure, never a payload)."""
    with conn:
        conn.execute(
            "UPDATE export_cursors SET errors = errors + 1, last_error = ?, last_error_at = ? "
            "WHERE sink = ?",
            (error[:300], now, sink),
        )


def trim(conn: sqlite3.Connection, max_backlog: int) -> int:
    """Delete rows every active sink has confirmed, then the oldest beyond ``max_backlog``.

    Returns how many undelivered rows were dropped (counted on each sink that missed them).
    """
    with conn:
        conn.execute(
            "DELETE FROM outbox WHERE id <= (SELECT coalesce(min(delivered_id), 0) "
            "FROM export_cursors WHERE active = 1) "
            "OR (sink IS NOT NULL AND sink NOT IN (SELECT sink FROM export_cursors "
            "WHERE active = 1))"
        )
        total = conn.execute("SELECT count(*) FROM outbox").fetchone()[0]
        excess = total - max_backlog
        if excess <= 0:
            return 0
        last = conn.execute(
            "SELECT id FROM outbox ORDER BY id LIMIT 1 OFFSET ?", (excess - 1,)
        ).fetchone()[0]
        conn.execute(
            "UPDATE export_cursors SET dropped = dropped + (SELECT count(*) FROM outbox o "
            "WHERE o.id <= :last AND o.id > export_cursors.delivered_id AND "
            "(o.sink IS NULL OR o.sink = export_cursors.sink)) WHERE active = 1",
            {"last": last},
        )
        conn.execute("DELETE FROM outbox WHERE id <= ?", (last,))
    return int(excess)


def replay(conn: sqlite3.Connection, since: str, until: str | None, sink: str | None) -> int:
    """Queue stored events from ``since`` (to ``until``) again, for one sink or for all."""
    with conn:
        cur = conn.execute(
            "INSERT INTO outbox (event_id, sink) SELECT id, ? FROM events "
            "WHERE ts >= ? AND (? IS NULL OR ts < ?) ORDER BY id",
            (sink, since, until, until),
        )
    return cur.rowcount


def status(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Per sink: lag (events waiting), oldest waiting event time, delivered, errors, dropped."""
    sinks = conn.execute(
        "SELECT sink, active, delivered_id, delivered, delivered_at, errors, last_error, "
        "last_error_at, dropped FROM export_cursors ORDER BY sink"
    ).fetchall()
    result = []
    for sink, active, delivered_id, delivered, at, errors, error, error_at, dropped in sinks:
        lag, oldest = conn.execute(
            "SELECT count(*), min(e.ts) FROM outbox o LEFT JOIN events e ON e.id = o.event_id "
            "WHERE o.id > ? AND (o.sink IS NULL OR o.sink = ?)",
            (delivered_id, sink),
        ).fetchone()
        result.append(
            {
                "sink": sink,
                "active": bool(active),
                "lag": lag,
                "oldest_waiting": oldest,
                "delivered": delivered,
                "delivered_at": at,
                "errors": errors,
                "last_error": error,
                "last_error_at": error_at,
                "dropped": dropped,
            }
        )
    return result


def _source(row: sqlite3.Row | tuple[Any, ...]) -> Source | None:
    repo, path, start, end, score = row
    if repo is None or path is None:
        return None
    return Source(repo, path, int(start or 0), int(end or 0), float(score or 0.0))


def load_events(conn: sqlite3.Connection, ids: Sequence[int]) -> dict[int, Event]:
    """Rebuild the stored (redacted) events ``ids``; pruned ones are simply absent."""
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    findings: dict[int, list[Finding]] = {}
    for row in conn.execute(_FINDING_SQL.format(marks=marks), list(ids)):
        findings.setdefault(row[0], []).append(
            Finding(
                category=Category(row[1]),
                rule=row[2],
                severity=Severity(row[3]),
                start=row[4] or 0,
                end=row[5] or 0,
                masked=row[6],
                fingerprint=row[7],
                segment_index=row[8] or 0,
                reason=row[9] or "",
                role=row[10] or "",
                message_index=row[11],
                path_hint=row[12],
                source=_source(row[13:18]),
                # Unmarked (older) findings: their event's action alone decides the outcome.
                stopped=row[18] is None or bool(row[18]),
            )
        )
    events = {}
    for row in conn.execute(_EVENT_SQL.format(marks=marks), list(ids)):
        process = None
        if row[15] is not None:
            process = ProcessInfo(
                pid=row[15],
                name=row[16] or "",
                exe=row[17],
                cmdline=row[18],
                parents=tuple(json.loads(row[19] or "[]")),
                cwd=row[20],
                repo=row[21],
                tool=row[22],
            )
        events[row[0]] = Event(
            timestamp=row[1],
            service=row[2],
            family=row[3] or "",
            host=row[4],
            method=row[5] or "",
            path=row[6] or "",
            bytes_out=row[7] or 0,
            action=Action(row[8]),
            findings=tuple(findings.get(row[0], ())),
            segment_count=row[9] or 0,
            uninspected_reason=row[10],
            error=row[11],
            client=row[12],
            model=row[13],
            conversation_key=row[14],
            process=process,
            jurisdictions=tuple(json.loads(row[22] or "[]")),
            region=row[23],
        )
    return events

"""Read models over the history for the CLI, the dashboard and the report."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlite_utils import Database

from egress_watch.model import Severity, utc_iso

_DURATION = re.compile(r"^(\d+)([smhdw])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_since(value: str, now: datetime) -> datetime:
    """Turn ``7d``, ``12h``, ``30m`` or an ISO date/time into an aware UTC datetime."""
    match = _DURATION.match(value.strip())
    if match:
        return now - timedelta(seconds=int(match[1]) * _UNIT_SECONDS[match[2]])
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(
            f"expected a duration like 7d, 12h, 30m or an ISO date, got {value!r}"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Which events to list; every field narrows the result."""

    since: datetime | None = None
    min_severity: Severity | None = None
    service: str | None = None
    after_id: int | None = None
    limit: int = 100


def list_events(db: Database, query: EventFilter) -> list[dict[str, Any]]:
    """Events newest first, each with its findings (redacted fields only)."""
    clauses: list[str] = []
    params: list[object] = []
    if query.since is not None:
        clauses.append("ts >= ?")
        params.append(utc_iso(query.since))
    if query.min_severity is not None:
        clauses.append("severity_rank >= ?")
        params.append(int(query.min_severity))
    if query.service:
        clauses.append("service = ?")
        params.append(query.service)
    if query.after_id is not None:
        clauses.append("id > ?")
        params.append(query.after_id)
    where = " AND ".join(clauses) or "1"
    sql = f"SELECT * FROM events WHERE {where} ORDER BY id DESC LIMIT ?"  # noqa: S608 (clauses are fixed text)
    events = [dict(row) for row in db.query(sql, [*params, query.limit])]
    _attach_findings(db, events)
    return events


def _attach_findings(db: Database, events: list[dict[str, Any]]) -> None:
    if not events:
        return
    by_id = {event["id"]: event for event in events}
    for event in events:
        event["findings"] = []
    marks = ",".join("?" * len(by_id))
    columns = 'event_id, category, rule, severity, masked, fingerprint, start, "end", ' + (
        "segment_index, role, message_index, reason"
    )
    sql = f"SELECT {columns} FROM findings WHERE event_id IN ({marks}) ORDER BY id"  # noqa: S608
    for row in db.query(sql, list(by_id)):
        by_id[row.pop("event_id")]["findings"].append(row)


def event_count(db: Database) -> int:
    return int(db.execute("SELECT count(*) FROM events").fetchone()[0])

"""Read models over the history for the CLI, the dashboard and the report."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from egress_watch.model import Category, Severity, utc_iso
from egress_watch.store.sqlite import Database

_DURATION = re.compile(r"^(\d+)([smhdw])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}

FINDING_FIELDS = (
    "category", "rule", "severity", "masked", "fingerprint", "start", '"end"', "segment_index",
    "role", "message_index", "reason", "path_hint", "source_repo", "source_path",
    "source_start_line", "source_end_line", "score", "status", "confidence",
)  # fmt: skip


def parse_when(value: str, now: datetime) -> datetime:
    """Turn ``7d``, ``12h``, ``30m`` (ago) or an ISO date/time into an aware UTC datetime."""
    match = _DURATION.match(value.strip())
    if match:
        return now - timedelta(seconds=int(match[1]) * _UNIT_SECONDS[match[2]])
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(
            f"expected a duration like 7d, 12h, 30m or an ISO date, got {value!r}"
        ) from None
    return parsed if parsed.tzinfo else parsed.astimezone()


parse_since = parse_when


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Which events to list; every field narrows the result."""

    since: datetime | None = None
    until: datetime | None = None
    min_severity: Severity | None = None
    category: Category | None = None
    service: str | None = None
    process: str | None = None
    repo: str | None = None
    after_id: int | None = None
    limit: int = 100
    jurisdiction: str | None = None
    """An ISO code: events to services whose operator or parent is there (confirmed or not)."""


def where_clause(query: EventFilter) -> tuple[str, list[object]]:
    """SQL conditions for a filter; only fixed text is interpolated, values are parameters."""
    clauses: list[str] = []
    params: list[object] = []
    for condition, value in (
        ("ts >= ?", utc_iso(query.since) if query.since else None),
        ("ts < ?", utc_iso(query.until) if query.until else None),
        ("severity_rank >= ?", int(query.min_severity) if query.min_severity else None),
        ("service = ?", query.service),
        ("id > ?", query.after_id),
    ):
        if value is not None:
            clauses.append(condition)
            params.append(value)
    if query.process is not None:  # a tool (claude) or a process name (node)
        clauses.append("(tool = ? OR process_name = ?)")
        params += [query.process, query.process]
    # EXISTS, not IN: the time and severity conditions narrow the events first, then each
    # candidate is checked through the findings(event_id) index.
    if query.category is not None:
        clauses.append(
            "EXISTS (SELECT 1 FROM findings f WHERE f.event_id = events.id AND f.category = ?)"
        )
        params.append(query.category.value)
    if query.jurisdiction is not None:
        clauses.append(
            "EXISTS (SELECT 1 FROM json_each(events.jurisdictions) WHERE rtrim(value, '?') = ?)"
        )
        params.append(query.jurisdiction.upper())
    if query.repo is not None:
        clauses.append(  # both sides use a partial index on the repo column
            "id IN (SELECT id FROM events WHERE process_repo = ? "
            "UNION SELECT event_id FROM findings WHERE source_repo = ?)"
        )
        params += [query.repo, query.repo]
    return " AND ".join(clauses) or "1", params


def list_events(db: Database, query: EventFilter) -> list[dict[str, Any]]:
    """Events newest first, each with its findings (redacted fields only)."""
    where, params = where_clause(query)
    sql = f"SELECT * FROM events WHERE {where} ORDER BY id DESC LIMIT ?"  # noqa: S608
    events = [with_jurisdictions(dict(row)) for row in db.query(sql, [*params, query.limit])]
    attach_findings(db, events)
    return events


def with_jurisdictions(event: dict[str, Any]) -> dict[str, Any]:
    """The stored JSON list of jurisdiction codes as a list (empty when unknown)."""
    raw = event.get("jurisdictions")
    event["jurisdictions"] = json.loads(raw) if isinstance(raw, str) and raw else []
    return event


def attach_findings(db: Database, events: list[dict[str, Any]]) -> None:
    if not events:
        return
    by_id = {event["id"]: event for event in events}
    for event in events:
        event["findings"] = []
    marks = ",".join("?" * len(by_id))
    columns = ", ".join(("event_id", *FINDING_FIELDS))
    sql = f"SELECT {columns} FROM findings WHERE event_id IN ({marks}) ORDER BY id"  # noqa: S608
    for row in db.query(sql, list(by_id)):
        by_id[row.pop("event_id")]["findings"].append(row)


def event_count(db: Database) -> int:
    return int(db.execute("SELECT count(*) FROM events").fetchone()[0])


def exposures(db: Database, since: datetime | None = None) -> list[dict[str, Any]]:
    """Unique values exposed (by fingerprint): verified-active first (rotate now), then the most
    severe and most recent; ``verification`` / ``verified_at`` when ``[secrets] verify`` ran."""
    sql = (
        "SELECT x.*, v.outcome AS verification, v.checked_at AS verified_at FROM exposures x "
        "LEFT JOIN verifications v ON v.fingerprint = x.fingerprint WHERE x.last_seen >= ? "
        "ORDER BY coalesce(v.outcome = 'active', 0) DESC, x.severity_rank DESC, x.last_seen DESC"
    )
    return [dict(row) for row in db.query(sql, [utc_iso(since) if since else ""])]

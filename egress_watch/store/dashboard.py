"""Read models for the dashboard that ``queries`` lacks: paged search, event detail, overview.

Every value reaches SQL as a parameter; only fixed text is interpolated. Each query is shaped to
ride an index on a 1M-event history (``bench/bench_dashboard.py`` times them).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from egress_watch.decide.outcome import SOMETHING_LEFT_SQL, outcome_sql
from egress_watch.model import utc_iso
from egress_watch.store.queries import (
    EventFilter,
    attach_findings,
    where_clause,
    with_jurisdictions,
)
from egress_watch.store.sqlite import Database

_LEFT = SOMETHING_LEFT_SQL
_OUTCOME = outcome_sql("e", "f")
# Overview figures count requests that let a value reach the service (egress_watch.decide.outcome).
_PER_DAY = f"""
SELECT substr(e.ts, 1, 10) AS day, count(*) AS n FROM events e INDEXED BY idx_events_ts
WHERE e.ts >= ? AND {_LEFT} GROUP BY day
"""  # noqa: S608 - fixed text
_TOP_SERVICES = f"""
SELECT e.service AS name, count(*) AS n FROM events e INDEXED BY idx_events_ts
WHERE e.ts >= ? AND {_LEFT} GROUP BY e.service ORDER BY n DESC, name LIMIT ?
"""  # noqa: S608 - fixed text
_TOP_PROCESSES = f"""
SELECT coalesce(e.tool, e.process_name, 'unknown') AS name, count(*) AS n
FROM events e INDEXED BY idx_events_ts WHERE e.ts >= ? AND {_LEFT}
GROUP BY name ORDER BY n DESC, name LIMIT ?
"""  # noqa: S608 - fixed text
_TOP_REPOS = f"""
SELECT repo AS name, count(*) AS n FROM (
    SELECT e.process_repo AS repo FROM events e WHERE e.process_repo IS NOT NULL
        AND e.ts >= ? AND {_LEFT}
    UNION ALL SELECT f.source_repo FROM findings f JOIN events e ON e.id = f.event_id
    WHERE f.source_repo IS NOT NULL AND e.ts >= ? AND {_OUTCOME} = 'sent'
) GROUP BY repo ORDER BY n DESC, name LIMIT ?
"""  # noqa: S608 - fixed text
SEARCH_WINDOW = 50_000
"""Event ids a free-text page scans at most: a rare word must not walk a year of history at once.

A page that stops at the window says where it stopped (``FeedPage.scanned_to``), and the next
page carries on from there.
"""


@dataclass(frozen=True, slots=True)
class FeedPage:
    """One page of the feed, newest first, and where the next (older) page starts."""

    events: list[dict[str, Any]]
    scanned_to: int | None
    """The lowest id this page looked at; None when the history is exhausted."""
    top_id: int | None = None
    """The newest id in the history when a first page was read: polling carries on above it."""


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def feed_page(
    db: Database, query: EventFilter, text: str | None = None, before_id: int | None = None
) -> FeedPage:
    """Events matching ``query`` and ``text`` (in rules, request and file paths), newest first.

    ``before_id`` pages backwards from an id; ``query.after_id`` polls forwards for new events.
    With ``text`` the page scans at most SEARCH_WINDOW ids, so it always returns promptly.
    """
    where, params = where_clause(query)
    clauses, values = [where], list(params)
    if before_id is not None:
        clauses.append("id < ?")
        values.append(before_id)
    floor: int | None = None
    newest = _max_id(db) if before_id is None and query.after_id is None else None
    if text:
        top = before_id if before_id is not None else (newest or 0) + 1
        floor = max(top - SEARCH_WINDOW, 0)
        if query.after_id is None:
            clauses.append("id >= ?")
            values.append(floor)
        pattern = _like(text)
        clauses.append(
            "(path LIKE ? ESCAPE '\\' OR EXISTS (SELECT 1 FROM findings f "
            "WHERE f.event_id = events.id AND (f.rule LIKE ? ESCAPE '\\' "
            "OR f.path_hint LIKE ? ESCAPE '\\' OR f.source_path LIKE ? ESCAPE '\\')))"
        )
        values += [pattern] * 4
    sql = f"SELECT * FROM events WHERE {' AND '.join(clauses)} ORDER BY id DESC LIMIT ?"  # noqa: S608
    events = [with_jurisdictions(dict(row)) for row in db.query(sql, [*values, query.limit])]
    attach_findings(db, events)
    if query.after_id is not None:
        return FeedPage(events, None)
    if len(events) >= query.limit:
        return FeedPage(events, int(events[-1]["id"]), newest)
    return FeedPage(events, floor or None, newest)


def _max_id(db: Database) -> int:
    return int(db.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0])


def event_detail(db: Database, event_id: int) -> dict[str, Any] | None:
    """One event with its findings, triage state and how often each value was seen overall."""
    rows = [dict(row) for row in db.query("SELECT * FROM events WHERE id = ?", [event_id])]
    if not rows:
        return None
    event = with_jurisdictions(rows[0])
    attach_findings(db, [event])
    parents = event.get("process_parents")
    event["process_parents"] = json.loads(parents) if parents else []
    ack = list(
        db.query("SELECT acked_at, note FROM acknowledgements WHERE event_id = ?", [event_id])
    )
    event["acknowledged"] = dict(ack[0]) if ack else None
    fingerprints = sorted({str(f["fingerprint"]) for f in event["findings"]})
    event["allowlisted"] = {}
    event["sightings"] = {}
    event["verified"] = {}
    if fingerprints:
        marks = ",".join("?" * len(fingerprints))
        for row in db.query(
            f"SELECT fingerprint, reason FROM allowlist WHERE fingerprint IN ({marks})",  # noqa: S608
            fingerprints,
        ):
            event["allowlisted"][row["fingerprint"]] = row["reason"]
        for row in db.query(
            f"SELECT fingerprint, sightings FROM exposures WHERE fingerprint IN ({marks})",  # noqa: S608
            fingerprints,
        ):
            event["sightings"][row["fingerprint"]] = row["sightings"]
        for row in db.query(
            f"SELECT fingerprint, outcome, checked_at FROM verifications "  # noqa: S608
            f"WHERE fingerprint IN ({marks})",
            fingerprints,
        ):
            event["verified"][row["fingerprint"]] = (row["outcome"], row["checked_at"])
    # Verified-active values first: rotate those now.
    event["findings"].sort(
        key=lambda f: event["verified"].get(str(f["fingerprint"]), ("",))[0] != "active"
    )
    return event


@dataclass(frozen=True, slots=True)
class Overview:
    """The figures of the overview screen for the days up to ``now``."""

    days: list[tuple[str, int]]
    """(UTC day ``YYYY-MM-DD``, requests that let a value reach the service), oldest first."""
    top_services: list[tuple[str, int]] = field(default_factory=list)
    top_processes: list[tuple[str, int]] = field(default_factory=list)
    top_repos: list[tuple[str, int]] = field(default_factory=list)
    top_jurisdictions: list[tuple[str, int]] = field(default_factory=list)
    """Requests (all of them, not only exposing ones) per country of the destination's operator
    or parent; ``unknown`` for events recorded without catalog facts."""
    secrets_this_week: int = 0
    """Distinct secret values (by fingerprint) that reached a service in the last seven days."""
    exposures_this_week: int = 0
    """Distinct sensitive values of any category that reached a service in the last seven days."""
    stopped_this_week: int = 0
    """Distinct values seen in the last seven days that never left (redacted, blocked, failed)."""


def exposures_per_day(db: Database, now: datetime, days: int) -> list[tuple[str, int]]:
    """Requests that let a value out per UTC day over the last ``days`` days, oldest first."""
    first = (now - timedelta(days=days - 1)).date()
    since = first.isoformat()
    counts = {
        row["day"]: row["n"]
        for row in db.query(
            _PER_DAY,
            [since],
        )
    }
    return [
        (day, int(counts.get(day, 0)))
        for day in ((first + timedelta(days=offset)).isoformat() for offset in range(days))
    ]


def _top(db: Database, sql: str, params: list[object]) -> list[tuple[str, int]]:
    return [(str(row["name"]), int(row["n"])) for row in db.query(sql, params)]


_WEEK_VALUES = f"""
SELECT sum(secret AND sent > 0), sum(sent > 0), sum(sent = 0) FROM (
    SELECT max(f.category = 'secret') AS secret, sum({_OUTCOME} = 'sent') AS sent
    FROM events e INDEXED BY idx_events_ts JOIN findings f ON f.event_id = e.id
    WHERE e.ts >= ? AND e.service != 'egress-watch-demo' GROUP BY f.fingerprint
)
"""  # noqa: S608 - fixed text
"""Distinct values of the week: secrets that left, anything that left, and values that never did."""


def overview(db: Database, now: datetime, days: int = 14, top: int = 5) -> Overview:
    """Everything the overview screen shows, for exposing requests of the last ``days`` days."""
    since = utc_iso(now - timedelta(days=days))
    week = utc_iso(now - timedelta(days=7))
    services = _top(
        db,
        _TOP_SERVICES,
        [since, top],
    )
    processes = _top(
        db,
        _TOP_PROCESSES,
        [since, top],
    )
    repos = _top(
        db,
        _TOP_REPOS,
        [since, since, top],
    )
    jurisdictions = _top(
        db,
        "SELECT rtrim(j.value, '?') AS name, count(DISTINCT e.id) AS n "
        "FROM events e INDEXED BY idx_events_ts, "
        "json_each(coalesce(nullif(e.jurisdictions, ''), '[\"unknown\"]')) j "
        "WHERE e.ts >= ? GROUP BY name ORDER BY n DESC, name LIMIT ?",
        [since, top],
    )
    secrets, everything, stopped = db.execute(_WEEK_VALUES, [week]).fetchone()
    return Overview(
        days=exposures_per_day(db, now, days),
        top_services=services,
        top_processes=processes,
        top_repos=repos,
        top_jurisdictions=jurisdictions,
        secrets_this_week=int(secrets or 0),
        exposures_this_week=int(everything or 0),
        stopped_this_week=int(stopped or 0),
    )

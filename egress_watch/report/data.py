"""The weekly exposure summary as one value: what every format renders, computed once.

``assemble`` is pure over the rows of ``queries.read_period``; ``build_report`` is the thin
edge that runs the queries for a window and the one before it.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from egress_watch.catalog.services import Catalog, builtin_catalog
from egress_watch.model import Category, Severity, utc_iso
from egress_watch.report.contents import (
    ACKNOWLEDGED,
    ALLOWLISTED,
    OPEN,
    TREND_LABELS,
    UNKNOWN_TOOL,
    Exposure,
    FindingCount,
    RepoExposure,
    ReportData,
    ShadowHost,
    StoppedValue,
    Totals,
    TrendRow,
    UninspectedRow,
    UsageRow,
)
from egress_watch.report.period import Period
from egress_watch.report.queries import PeriodRows, read_period
from egress_watch.report.where import read_where
from egress_watch.store.sqlite import Database


def _tool(name: str | None) -> str:
    return name or UNKNOWN_TOOL


def _names(values: Iterable[str | None]) -> tuple[str, ...]:
    return tuple(sorted({_tool(v) for v in values}))


def _usage(rows: list[dict[str, Any]]) -> tuple[UsageRow, ...]:
    return tuple(
        UsageRow(
            _tool(r["name"]),
            int(r["requests"]),
            int(r["bytes_out"]),
            int(r["findings"]),
            int(r["redacted"]),
            int(r["blocked"]),
            int(r["uninspected"]),
            int(r["not_sent"]),
        )
        for r in rows
    )


def _status(row: dict[str, Any]) -> str:
    if row["allowlisted"]:
        return ALLOWLISTED
    return OPEN if row["open_findings"] else ACKNOWLEDGED


def _exposure(row: dict[str, Any], period: Period) -> Exposure:
    first_seen = row["first_seen"] or row["first_in_period"]
    return Exposure(
        fingerprint=row["fingerprint"],
        category=row["category"],
        rule=row["rule"],
        severity=Severity(int(row["rank"])).label,
        masked=row["masked"],
        first_seen=first_seen,
        last_seen=row["last_in_period"],
        requests=int(row["requests"]),
        services=_names(row["services"]),
        tools=_names(row["tools"]),
        new=first_seen >= period.start_iso,
        status=_status(row),
        verification=row.get("verification") or "",
        verified_at=row.get("verified_at") or "",
    )


def _stopped(row: dict[str, Any]) -> StoppedValue:
    return StoppedValue(
        fingerprint=row["fingerprint"],
        category=row["category"],
        rule=row["rule"],
        severity=Severity(int(row["rank"])).label,
        masked=row["masked"],
        last_seen=row["last_in_period"],
        redacted=int(row["redacted"]),
        blocked=int(row["blocked"]),
        not_sent=int(row["not_sent"]),
        services=_names(row["services"]),
        tools=_names(row["tools"]),
    )


def _priority(item: Exposure) -> tuple[bool, bool, int, bool, str, str]:
    """Verified-active values first (rotate now), then unacknowledged, the most severe, new
    values, the oldest."""
    rank = int(Severity.parse(item.severity))
    active = item.verification == "active"
    return (not active, item.status != OPEN, -rank, not item.new, item.first_seen, item.rule)


def merged_line_count(spans: Iterable[tuple[int, int]]) -> int:
    """Lines covered by inclusive line spans, each line counted once however often it was sent."""
    total, last_end = 0, 0
    for start, end in sorted(spans):
        start = max(start, last_end + 1)
        if end >= start:
            total += end - start + 1
            last_end = end
    return total


def _repositories(rows: PeriodRows) -> tuple[RepoExposure, ...]:
    spans: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
    for span in rows.spans:
        spans[span["repo"], span["path"]].append((int(span["start_line"]), int(span["end_line"])))
    lines: dict[str, int] = defaultdict(int)
    for (repo, _path), file_spans in spans.items():
        lines[repo] += merged_line_count(file_spans)
    return tuple(
        RepoExposure(
            repo=r["repo"],
            files=int(r["files"]),
            lines=lines[r["repo"]],
            requests=int(r["requests"]),
            findings=int(r["findings"]),
            services=_names(r["services"]),
            tools=_names(r["tools"]),
        )
        for r in rows.repositories
    )


def _shadow_hosts(rows: PeriodRows, period: Period) -> tuple[ShadowHost, ...]:
    return tuple(
        ShadowHost(
            host=r["host"],
            first_seen=r["first_seen"],
            last_seen=r["last_seen"],
            connections=int(r["connections"] or 0),
            reason=r["reason"] or "",
            tool=_tool(r["tool"]),
            new=r["first_seen"] >= period.start_iso,
        )
        for r in rows.shadow_hosts
    )


def _totals(rows: PeriodRows, exposed: list[Exposure], repos: int, shadow_hosts: int) -> Totals:
    services = rows.services
    secrets = [e for e in exposed if e.category == Category.SECRET]
    return Totals(
        requests=sum(int(r["requests"]) for r in services),
        bytes_out=sum(int(r["bytes_out"]) for r in services),
        findings=sum(int(r["findings"]) for r in rows.findings),
        secrets=len(secrets),
        new_secrets=sum(e.new for e in secrets),
        open_critical=sum(
            e.severity == Severity.CRITICAL.label and e.status == OPEN for e in exposed
        ),
        redacted=sum(int(r["redacted"]) for r in services),
        blocked=sum(int(r["blocked"]) for r in services),
        not_sent=sum(int(r["not_sent"]) for r in services),
        stopped=len(rows.stopped),
        uninspected=sum(int(r["uninspected"]) for r in services),
        errors=sum(int(r["errors"]) for r in services),
        repositories=repos,
        shadow_hosts=shadow_hosts,
    )


def assemble(
    rows: PeriodRows, previous_rows: PeriodRows, period: Period, previous: Period, now: datetime
) -> ReportData:
    """Build the report from the rows of this window and the one before (pure)."""
    exposed = sorted((_exposure(r, period) for r in rows.exposed), key=_priority)
    previous_exposed = [_exposure(r, previous) for r in previous_rows.exposed]
    repositories = _repositories(rows)
    shadow_hosts = _shadow_hosts(rows, period)
    totals = _totals(rows, exposed, len(repositories), len(shadow_hosts))
    previous_totals = _totals(
        previous_rows,
        previous_exposed,
        len(previous_rows.repositories),
        len(previous_rows.shadow_hosts),
    )
    trend = tuple(
        TrendRow(key, label, getattr(totals, key), getattr(previous_totals, key))
        for key, label in TREND_LABELS
    )
    return ReportData(
        generated_at=utc_iso(now),
        period=period,
        previous_period=previous,
        totals=totals,
        previous_totals=previous_totals,
        trend=trend,
        attention=tuple(
            e for e in exposed if e.severity == Severity.CRITICAL.label and e.status == OPEN
        ),
        secrets=tuple(e for e in exposed if e.category == Category.SECRET),
        stopped=tuple(_stopped(r) for r in rows.stopped),
        services=_usage(rows.services),
        tools=_usage(rows.tools),
        findings=tuple(
            FindingCount(
                r["category"],
                Severity(int(r["rank"])).label,
                int(r["findings"]),
                int(r["unique_values"]),
            )
            for r in rows.findings
        ),
        repositories=repositories,
        uninspected=tuple(
            UninspectedRow(
                r["service"], r["host"], r["reason"], int(r["requests"]), int(r["bytes_out"])
            )
            for r in rows.uninspected
        ),
        shadow_hosts=shadow_hosts,
    )


def build_report(
    db: Database,
    period: Period,
    previous_period: Period,
    now: datetime | None = None,
    catalog: Catalog | None = None,
) -> ReportData:
    """Read both windows from the history and assemble the report; ``catalog`` (the one in
    force) says which endpoints may train by default."""
    now = now or datetime.now(UTC)
    rows = read_period(db, period.start_iso, period.end_iso)
    previous_rows = read_period(db, previous_period.start_iso, previous_period.end_iso)
    data = assemble(rows, previous_rows, period, previous_period, now)
    where = read_where(db, period.start_iso, period.end_iso, catalog or builtin_catalog())
    return dataclasses.replace(data, where=where)

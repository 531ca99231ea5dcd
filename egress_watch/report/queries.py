"""The report's SQL: fixed statements, every value a parameter, only redacted columns read.

No statement here selects a request path, a process command line, working directory or
executable, a finding's reason text or an error message: the report cannot print what it never
reads.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from egress_watch.decide.outcome import outcome_sql
from egress_watch.store.sqlite import Database

_OUTCOME = outcome_sql("e", "f")
_LEFT = "e.action NOT IN ('block', 'failed')"
"""The request reached the upstream (passed or redacted): its bytes count as sent."""
_IN_PERIOD = "e.ts >= :start AND e.ts < :end AND e.service != 'egress-watch-demo'"
"""The window; ``egress-watch demo``'s test events are never part of a report."""

USAGE_BY = """
SELECT {key} AS name, count(*) AS requests,
    coalesce(sum(CASE WHEN {left} THEN e.bytes_out ELSE 0 END), 0) AS bytes_out,
    coalesce(sum(e.finding_count), 0) AS findings,
    sum(e.action = 'redact') AS redacted, sum(e.action = 'block') AS blocked,
    sum(e.action = 'failed') AS not_sent,
    sum(e.uninspected_reason IS NOT NULL) AS uninspected, sum(e.error IS NOT NULL) AS errors
FROM events e WHERE {where} GROUP BY 1 ORDER BY requests DESC, name
"""
USAGE_BY_SERVICE = USAGE_BY.format(key="e.service", where=_IN_PERIOD, left=_LEFT)
USAGE_BY_TOOL = USAGE_BY.format(
    key="coalesce(e.tool, e.process_name, '')", where=_IN_PERIOD, left=_LEFT
)

FINDINGS_BY_CATEGORY = f"""
SELECT f.category, f.severity_rank AS rank, count(*) AS findings,
    count(DISTINCT f.fingerprint) AS unique_values
FROM events e JOIN findings f ON f.event_id = e.id
WHERE {_IN_PERIOD} GROUP BY 1, 2 ORDER BY rank DESC, findings DESC, f.category
"""  # noqa: S608 - fixed text

EXPOSED_VALUES = f"""
SELECT f.fingerprint, f.category, f.rule, max(f.severity_rank) AS rank,
    coalesce(x.masked, f.masked) AS masked, count(DISTINCT e.id) AS requests,
    min(e.ts) AS first_in_period, max(e.ts) AS last_in_period, x.first_seen,
    json_group_array(DISTINCT e.service) AS services,
    json_group_array(DISTINCT coalesce(e.tool, e.process_name, '')) AS tools,
    sum(f.status = 'open' AND a.event_id IS NULL) AS open_findings,
    max(al.fingerprint IS NOT NULL) AS allowlisted,
    max(v.outcome) AS verification, max(v.checked_at) AS verified_at
FROM events e JOIN findings f ON f.event_id = e.id
LEFT JOIN acknowledgements a ON a.event_id = e.id
LEFT JOIN exposures x ON x.fingerprint = f.fingerprint
LEFT JOIN allowlist al ON al.fingerprint = f.fingerprint
LEFT JOIN verifications v ON v.fingerprint = f.fingerprint
WHERE {_IN_PERIOD} AND f.category != 'proprietary' AND {_OUTCOME} = 'sent'
GROUP BY f.fingerprint
"""  # noqa: S608 - fixed text

STOPPED_VALUES = f"""
SELECT s.fingerprint, s.category, s.rule, max(s.severity_rank) AS rank,
    coalesce(x.masked, s.masked) AS masked, max(s.ts) AS last_in_period,
    count(DISTINCT s.event_id) FILTER (WHERE s.outcome = 'redacted') AS redacted,
    count(DISTINCT s.event_id) FILTER (WHERE s.outcome = 'blocked') AS blocked,
    count(DISTINCT s.event_id) FILTER (WHERE s.outcome = 'not_sent') AS not_sent,
    json_group_array(DISTINCT s.service) AS services,
    json_group_array(DISTINCT s.tool) AS tools
FROM (
    SELECT f.fingerprint, f.category, f.rule, f.severity_rank, f.masked, e.ts, e.id AS event_id,
        e.service, coalesce(e.tool, e.process_name, '') AS tool, {_OUTCOME} AS outcome
    FROM events e JOIN findings f ON f.event_id = e.id
    WHERE {_IN_PERIOD} AND f.category != 'proprietary'
) s
LEFT JOIN exposures x ON x.fingerprint = s.fingerprint
GROUP BY s.fingerprint HAVING sum(s.outcome = 'sent') = 0
ORDER BY rank DESC, last_in_period DESC, s.rule
"""  # noqa: S608 - fixed text
"""Values stopped every time they were sent in the window: they never left."""

REPOSITORIES = f"""
SELECT f.source_repo AS repo, count(*) AS findings, count(DISTINCT e.id) AS requests,
    count(DISTINCT f.source_path) AS files,
    json_group_array(DISTINCT e.service) AS services,
    json_group_array(DISTINCT coalesce(e.tool, e.process_name, '')) AS tools
FROM events e JOIN findings f ON f.event_id = e.id
WHERE {_IN_PERIOD} AND f.category = 'proprietary' AND f.source_repo IS NOT NULL
    AND {_OUTCOME} = 'sent'
GROUP BY 1 ORDER BY requests DESC, repo
"""  # noqa: S608 - fixed text

REPOSITORY_SPANS = f"""
SELECT DISTINCT f.source_repo AS repo, f.source_path AS path,
    f.source_start_line AS start_line, f.source_end_line AS end_line
FROM events e JOIN findings f ON f.event_id = e.id
WHERE {_IN_PERIOD} AND {_LEFT} AND f.category = 'proprietary' AND f.source_repo IS NOT NULL
    AND f.source_start_line IS NOT NULL AND f.source_end_line IS NOT NULL
    AND {_OUTCOME} = 'sent'
"""  # noqa: S608 - fixed text

UNINSPECTED = f"""
SELECT e.service, e.host, e.uninspected_reason AS reason, count(*) AS requests,
    coalesce(sum(e.bytes_out), 0) AS bytes_out
FROM events e WHERE {_IN_PERIOD} AND e.uninspected_reason IS NOT NULL
GROUP BY 1, 2, 3 ORDER BY requests DESC, e.service, e.host
"""  # noqa: S608 - fixed text

SHADOW_HOSTS = """
SELECT host, first_seen, last_seen, connections, ai_reason AS reason,
    coalesce(last_process, '') AS tool
FROM hosts WHERE looks_like_ai = 1 AND last_seen >= :start AND first_seen < :end
ORDER BY last_seen DESC, host
"""


@dataclass(frozen=True, slots=True)
class PeriodRows:
    """Everything the report reads about one window, as plain rows."""

    services: list[dict[str, Any]]
    tools: list[dict[str, Any]]
    findings: list[dict[str, Any]]
    exposed: list[dict[str, Any]]
    stopped: list[dict[str, Any]]
    repositories: list[dict[str, Any]]
    spans: list[dict[str, Any]]
    uninspected: list[dict[str, Any]]
    shadow_hosts: list[dict[str, Any]]


def _rows(db: Database, sql: str, params: dict[str, str]) -> list[dict[str, Any]]:
    rows = [dict(row) for row in db.query(sql, params)]
    for row in rows:
        for key in ("services", "tools"):
            if isinstance(row.get(key), str):
                row[key] = json.loads(row[key])
    return rows


def read_period(db: Database, start_iso: str, end_iso: str) -> PeriodRows:
    """Run every report query over ``[start, end)``."""
    params = {"start": start_iso, "end": end_iso}
    return PeriodRows(
        services=_rows(db, USAGE_BY_SERVICE, params),
        tools=_rows(db, USAGE_BY_TOOL, params),
        findings=_rows(db, FINDINGS_BY_CATEGORY, params),
        exposed=_rows(db, EXPOSED_VALUES, params),
        stopped=_rows(db, STOPPED_VALUES, params),
        repositories=_rows(db, REPOSITORIES, params),
        spans=_rows(db, REPOSITORY_SPANS, params),
        uninspected=_rows(db, UNINSPECTED, params),
        shadow_hosts=_rows(db, SHADOW_HOSTS, params),
    )

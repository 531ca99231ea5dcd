"""Turn an Event into rows (pure): what each table stores, and nothing more."""

from __future__ import annotations

import json
from typing import Any

from egress_watch.model import Event, Finding, HostSighting

EVENT_COLUMNS = (
    "ts", "service", "family", "host", "method", "path", "bytes_out", "action", "severity",
    "severity_rank", "finding_count", "segment_count", "uninspected_reason", "error", "client",
    "model", "conversation_key", "process_pid", "process_name", "process_exe", "process_cmdline",
    "process_parents", "process_cwd", "process_repo", "jurisdictions", "region", "tool",
)  # fmt: skip
FINDING_COLUMNS = (
    "event_id", "category", "rule", "severity", "severity_rank", "masked", "fingerprint", "start",
    '"end"', "segment_index", "role", "message_index", "reason", "path_hint", "source_repo",
    "source_path", "source_start_line", "source_end_line", "score", "confidence", "stopped",
)  # fmt: skip


ADD_RESTORE_COUNTS = (
    "UPDATE events SET restored_count = COALESCE(restored_count, 0) + ?, "
    "unrestored_count = COALESCE(unrestored_count, 0) + ? WHERE id = ?"
)
OUTBOX_ENABLED = "SELECT 1 FROM export_cursors WHERE active = 1 LIMIT 1"
INSERT_OUTBOX = "INSERT INTO outbox (event_id) VALUES (?)"


def insert_sql(table: str, columns: tuple[str, ...]) -> str:
    marks = ", ".join("?" * len(columns))
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608


def event_row(event: Event) -> tuple[Any, ...]:
    """The events row; the process parent chain is stored as a JSON list."""
    severity = event.severity
    process = event.process
    return (
        event.timestamp, event.service, event.family, event.host, event.method, event.path,
        event.bytes_out, event.action.value, severity.label if severity else None,
        int(severity or 0), len(event.findings), event.segment_count, event.uninspected_reason,
        event.error, event.client, event.model, event.conversation_key,
        process.pid if process else None, process.name if process else None,
        process.exe if process else None, process.cmdline if process else None,
        json.dumps(list(process.parents)) if process else None,
        process.cwd if process else None, process.repo if process else None,
        json.dumps(list(event.jurisdictions)) if event.jurisdictions else None, event.region,
        process.tool if process else None,
    )  # fmt: skip


def finding_row(event_id: int, f: Finding) -> tuple[Any, ...]:
    source = f.source
    return (
        event_id, f.category.value, f.rule, f.severity.label, int(f.severity), f.masked,
        f.fingerprint, f.start, f.end, f.segment_index, f.role, f.message_index, f.reason,
        f.path_hint, source.repo if source else None, source.path if source else None,
        source.start_line if source else None, source.end_line if source else None,
        source.score if source else None, f.confidence, int(f.stopped),
    )  # fmt: skip


def distinct_exposures(event: Event) -> list[Finding]:
    """One finding per fingerprint, the most severe: a value sent twice in one request is one
    sighting."""
    worst: dict[str, Finding] = {}
    for finding in event.findings:
        kept = worst.get(finding.fingerprint)
        if kept is None or finding.severity > kept.severity:
            worst[finding.fingerprint] = finding
    return list(worst.values())


UPSERT_EXPOSURE = """
INSERT INTO exposures (fingerprint, category, rule, severity, severity_rank, masked, first_seen,
    last_seen, sightings, first_event_id, last_event_id, services, processes)
VALUES (:fp, :category, :rule, :severity, :rank, :masked, :ts, :ts, 1, :event_id, :event_id,
    json_array(:service), CASE WHEN :process IS NULL THEN '[]' ELSE json_array(:process) END)
ON CONFLICT (fingerprint) DO UPDATE SET
    last_seen = max(last_seen, excluded.last_seen),
    sightings = sightings + 1,
    last_event_id = excluded.last_event_id,
    severity = CASE WHEN excluded.severity_rank > severity_rank THEN excluded.severity
                    ELSE severity END,
    severity_rank = max(severity_rank, excluded.severity_rank),
    services = CASE WHEN EXISTS (SELECT 1 FROM json_each(services) WHERE value = :service)
                    THEN services ELSE json_insert(services, '$[#]', :service) END,
    processes = CASE WHEN :process IS NULL
                      OR EXISTS (SELECT 1 FROM json_each(processes) WHERE value = :process)
                     THEN processes ELSE json_insert(processes, '$[#]', :process) END
"""


def exposure_params(event_id: int, event: Event, f: Finding) -> dict[str, Any]:
    return {
        "fp": f.fingerprint,
        "category": f.category.value,
        "rule": f.rule,
        "severity": f.severity.label,
        "rank": int(f.severity),
        "masked": f.masked,
        "ts": event.timestamp,
        "event_id": event_id,
        "service": event.service,
        "process": event.process.tool_or_name if event.process else None,
    }


UPSERT_HOST = """
INSERT INTO hosts (host, first_seen, last_seen, connections, decrypted, looks_like_ai, ai_reason,
    last_process)
VALUES (:host, :ts, :ts, 1, :decrypted, :looks_like_ai, :ai_reason, :process)
ON CONFLICT (host) DO UPDATE SET
    last_seen = max(last_seen, excluded.last_seen),
    connections = connections + 1,
    decrypted = excluded.decrypted,
    looks_like_ai = excluded.looks_like_ai,
    ai_reason = excluded.ai_reason,
    last_process = coalesce(excluded.last_process, last_process)
"""


def host_params(sighting: HostSighting) -> dict[str, Any]:
    return {
        "host": sighting.host,
        "ts": sighting.timestamp,
        "decrypted": int(sighting.decrypted),
        "looks_like_ai": int(sighting.ai_reason is not None),
        "ai_reason": sighting.ai_reason,
        "process": sighting.process,
    }


def event_to_json(event: Event) -> str:
    """Serialize an event for the spool file (same redacted content as the database)."""
    from dataclasses import asdict

    return json.dumps(asdict(event), default=str, ensure_ascii=False)


def event_from_json(line: str) -> Event:
    """Inverse of ``event_to_json``, for replaying the spool."""
    from egress_watch.model import Action, Category, ProcessInfo, Severity, Source

    data = json.loads(line)
    findings = tuple(
        Finding(
            **{
                **f,
                "category": Category(f["category"]),
                "severity": Severity(f["severity"]),
                "source": Source(**f["source"]) if f.get("source") else None,
            }
        )
        for f in data.pop("findings")
    )
    process = data.pop("process")
    return Event(
        **{
            **data,
            "action": Action(data["action"]),
            "findings": findings,
            "process": ProcessInfo(**{**process, "parents": tuple(process["parents"])})
            if process
            else None,
            "jurisdictions": tuple(data.get("jurisdictions") or ()),
        }
    )

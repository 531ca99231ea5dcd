"""Schema migrations; every change to the schema is a new function here, never an edit."""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("egress_watch")


@migrations()
def m001_create_events(db: Database) -> None:
    """Events (one per inspected request) and their redacted findings."""
    db.table("events").create(
        {
            "id": int,
            "ts": str,
            "service": str,
            "family": str,
            "host": str,
            "method": str,
            "path": str,
            "bytes_out": int,
            "action": str,
            "severity": str,
            "severity_rank": int,
            "finding_count": int,
            "segment_count": int,
            "uninspected_reason": str,
            "error": str,
            "client": str,
        },
        pk="id",
        not_null={"ts", "service", "host", "action"},
        defaults={"severity_rank": 0, "finding_count": 0, "segment_count": 0, "bytes_out": 0},
    )
    db.table("events").create_index(["ts"])
    db.table("events").create_index(["severity_rank", "ts"])
    db.table("findings").create(
        {
            "id": int,
            "event_id": int,
            "category": str,
            "rule": str,
            "severity": str,
            "severity_rank": int,
            "masked": str,
            "fingerprint": str,
            "start": int,
            "end": int,
            "segment_index": int,
            "role": str,
            "message_index": int,
            "reason": str,
        },
        pk="id",
        foreign_keys=[("event_id", "events", "id")],
        not_null={"event_id", "category", "rule", "severity", "masked", "fingerprint"},
    )
    db.table("findings").create_index(["event_id"])
    db.table("findings").create_index(["fingerprint"])

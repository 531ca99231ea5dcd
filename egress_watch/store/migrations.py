"""Schema migrations; every change to the schema is a new function here, never an edit."""

from __future__ import annotations

from egress_watch.store.sqlite import Database, Migrations

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


@migrations()
def m002_history_v2(db: Database) -> None:
    """Process and model on events, places and provenance on findings, exposures, hosts, triage."""
    for column, kind in (
        ("model", "TEXT"),
        ("conversation_key", "TEXT"),
        ("process_pid", "INTEGER"),
        ("process_name", "TEXT"),
        ("process_exe", "TEXT"),
        ("process_cmdline", "TEXT"),
        ("process_parents", "TEXT"),
        ("process_cwd", "TEXT"),
        ("process_repo", "TEXT"),
    ):
        db.execute(f"ALTER TABLE events ADD COLUMN {column} {kind}")
    for column, kind in (
        ("path_hint", "TEXT"),
        ("source_repo", "TEXT"),
        ("source_path", "TEXT"),
        ("source_start_line", "INTEGER"),
        ("source_end_line", "INTEGER"),
        ("score", "REAL"),
        ("status", "TEXT NOT NULL DEFAULT 'open'"),
        ("confidence", "TEXT"),
    ):
        db.execute(f"ALTER TABLE findings ADD COLUMN {column} {kind}")
    db.table("events").create_index(["service", "ts"])
    db.table("events").create_index(["process_name", "ts"])
    # Per-value questions are answered by the exposures table; an index on the random
    # fingerprints of millions of findings halved the sustained write rate.
    db.execute("DROP INDEX IF EXISTS idx_findings_fingerprint")
    db.execute(
        "CREATE INDEX idx_findings_source_repo ON findings (source_repo) "
        "WHERE source_repo IS NOT NULL"
    )
    db.execute(
        "CREATE INDEX idx_events_process_repo ON events (process_repo) "
        "WHERE process_repo IS NOT NULL"
    )
    db.table("exposures").create(
        {
            "fingerprint": str,
            "category": str,
            "rule": str,
            "severity": str,
            "severity_rank": int,
            "masked": str,
            "first_seen": str,
            "last_seen": str,
            "sightings": int,
            "first_event_id": int,
            "last_event_id": int,
            "services": str,
            "processes": str,
        },
        pk="fingerprint",
        not_null={"category", "rule", "severity", "masked", "first_seen", "last_seen"},
        defaults={"sightings": 0, "services": "[]", "processes": "[]"},
    )
    db.table("exposures").create_index(["last_seen"])
    db.table("hosts").create(
        {
            "host": str,
            "first_seen": str,
            "last_seen": str,
            "connections": int,
            "bytes_out": int,
            "bytes_in": int,
            "decrypted": int,
            "looks_like_ai": int,
            "ai_reason": str,
            "last_process": str,
        },
        pk="host",
        defaults={"connections": 0, "bytes_out": 0, "bytes_in": 0, "decrypted": 0,
                  "looks_like_ai": 0},
    )  # fmt: skip
    db.table("allowlist").create(
        {"fingerprint": str, "rule": str, "reason": str, "created_at": str},
        pk="fingerprint",
        not_null={"reason", "created_at"},
    )
    db.table("acknowledgements").create(
        {"event_id": int, "acked_at": str, "note": str},
        pk="event_id",
        foreign_keys=[("event_id", "events", "id")],
        not_null={"acked_at"},
    )


@migrations()
def m003_create_outbox(db: Database) -> None:
    """Export outbox (one row per event to deliver) and each sink's delivery cursor."""
    # AUTOINCREMENT: ids are never reused after delivered rows are deleted, so a cursor
    # (the last delivered id) always means the same thing.
    db.execute(
        "CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, "
        "event_id INTEGER NOT NULL, sink TEXT)"
    )
    db.table("export_cursors").create(
        {
            "sink": str,
            "active": int,
            "delivered_id": int,
            "delivered": int,
            "delivered_at": str,
            "errors": int,
            "last_error": str,
            "last_error_at": str,
            "dropped": int,
        },
        pk="sink",
        defaults={"active": 0, "delivered_id": 0, "delivered": 0, "errors": 0, "dropped": 0},
    )


@migrations()
def m004_restore_counts(db: Database) -> None:
    """How many redacted values an event's answer got back, and how many it could not."""
    db.execute("ALTER TABLE events ADD COLUMN restored_count INTEGER")
    db.execute("ALTER TABLE events ADD COLUMN unrestored_count INTEGER")


@migrations()
def m005_where_it_went(db: Database) -> None:
    """Where each request went: its destination's jurisdictions (JSON list) and region."""
    db.execute("ALTER TABLE events ADD COLUMN jurisdictions TEXT")
    db.execute("ALTER TABLE events ADD COLUMN region TEXT")


@migrations()
def m006_secret_verifications(db: Database) -> None:
    """Live-verification outcomes by fingerprint (``[secrets] verify``): never a value."""
    db.table("verifications").create(
        {"fingerprint": str, "outcome": str, "checked_at": str},
        pk="fingerprint",
        not_null={"outcome", "checked_at"},
    )


@migrations()
def m007_finding_stopped(db: Database) -> None:
    """findings.stopped: 1 when the proxy kept the value from leaving (redacted or blocked).

    NULL on findings recorded before: their event's action decides (egress_watch.decide.outcome).
    """
    db.execute("ALTER TABLE findings ADD COLUMN stopped INTEGER")


@migrations()
def m008_event_tool(db: Database) -> None:
    """events.tool: the tool behind the process (``claude``, not ``node``); NULL before."""
    db.execute("ALTER TABLE events ADD COLUMN tool TEXT")
    db.execute("CREATE INDEX idx_events_tool_ts ON events (tool, ts) WHERE tool IS NOT NULL")

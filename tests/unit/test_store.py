"""The history database: pinned schema, private files, committed events, read-only readers."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import time
from pathlib import Path

import pytest
from sqlite_utils import Database

from egress_watch.errors import StoreError
from egress_watch.model import Action, Category, Event, Finding, Severity
from egress_watch.store.database import open_reader, open_writer
from egress_watch.store.migrations import migrations
from egress_watch.store.queries import EventFilter, exposures, list_events
from egress_watch.store.writer import SPOOLED, EventWriter, Retention, prune_batch


def make_event(service: str = "openai", *, findings: tuple[Finding, ...] = ()) -> Event:
    return Event(
        timestamp="2026-11-27T10:00:00.000000+00:00",
        service=service,
        family="openai-chat",
        host="api.openai.com",
        method="POST",
        path="/v1/chat/completions",
        bytes_out=123,
        action=Action.PASS,
        findings=findings,
        segment_count=2,
    )


FINDING = Finding(
    Category.SECRET, "aws-access-key", Severity.CRITICAL, 5, 25, "AKIA…WXYZ (20 chars)",
    "hmac-sha256:" + "ab" * 32, segment_index=1, reason="AWS access key id", role="user",
    message_index=0,
)  # fmt: skip


def test_schema_after_all_migrations(tmp_path: Path) -> None:
    db = open_writer(tmp_path / "h.db")
    schema = {t.name: list(t.columns_dict) for t in db.tables}
    assert schema == {
        "_sqlite_migrations": ["id", "migration_set", "name", "applied_at"],
        "events": [
            "id", "ts", "service", "family", "host", "method", "path", "bytes_out", "action",
            "severity", "severity_rank", "finding_count", "segment_count", "uninspected_reason",
            "error", "client", "model", "conversation_key", "process_pid", "process_name",
            "process_exe", "process_cmdline", "process_parents", "process_cwd", "process_repo",
            "restored_count", "unrestored_count", "jurisdictions", "region", "tool",
        ],
        "findings": [
            "id", "event_id", "category", "rule", "severity", "severity_rank", "masked",
            "fingerprint", "start", "end", "segment_index", "role", "message_index", "reason",
            "path_hint", "source_repo", "source_path", "source_start_line", "source_end_line",
            "score", "status", "confidence", "stopped",
        ],
        "exposures": [
            "fingerprint", "category", "rule", "severity", "severity_rank", "masked",
            "first_seen", "last_seen", "sightings", "first_event_id", "last_event_id",
            "services", "processes",
        ],
        "hosts": [
            "host", "first_seen", "last_seen", "connections", "bytes_out", "bytes_in",
            "decrypted", "looks_like_ai", "ai_reason", "last_process",
        ],
        "allowlist": ["fingerprint", "rule", "reason", "created_at"],
        "acknowledgements": ["event_id", "acked_at", "note"],
        "outbox": ["id", "event_id", "sink"],
        "sqlite_sequence": ["name", "seq"],
        "export_cursors": [
            "sink", "active", "delivered_id", "delivered", "delivered_at", "errors",
            "last_error", "last_error_at", "dropped",
        ],
        "verifications": ["fingerprint", "outcome", "checked_at"],
    }  # fmt: skip
    assert db.journal_mode == "wal"
    assert [m["name"] for m in db["_sqlite_migrations"].rows] == [
        "m001_create_events",
        "m002_history_v2",
        "m003_create_outbox",
        "m004_restore_counts",
        "m005_where_it_went",
        "m006_secret_verifications",
        "m007_finding_stopped",
        "m008_event_tool",
    ]


def test_upgrade_from_the_first_schema_keeps_the_data(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = Database(path)
    migrations.apply(old, stop_before="m002_history_v2")  # what version 0.1 shipped
    old.execute(
        "INSERT INTO events (ts, service, family, host, method, path, bytes_out, action, "
        "severity, severity_rank, finding_count, segment_count) VALUES "
        "('2026-01-01T00:00:00.000000+00:00', 'openai', 'openai-chat', 'api.openai.com', "
        "'POST', '/v1/chat/completions', 10, 'pass', 'critical', 4, 1, 1)"
    )
    old.execute(
        "INSERT INTO findings (event_id, category, rule, severity, severity_rank, masked, "
        "fingerprint, start, \"end\") VALUES (1, 'secret', 'aws-access-key', 'critical', 4, "
        "'AKIA…W5YB (20 chars)', 'hmac-sha256:aa', 0, 20)"
    )
    old.conn.commit()
    old.conn.close()
    writer = EventWriter(path)  # opening migrates
    writer.write(make_event(findings=(FINDING,)))
    writer.close()
    rows = list_events(open_reader(path), EventFilter())
    assert [(r["id"], r["service"], r["severity"]) for r in rows] == [
        (2, "openai", "critical"),
        (1, "openai", "critical"),
    ]
    assert rows[1]["findings"][0]["rule"] == "aws-access-key"
    assert rows[1]["findings"][0]["status"] == "open"


def test_database_files_are_private(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    writer = EventWriter(path)
    writer.write(make_event())
    for candidate in (path, path.with_name("h.db-wal"), path.with_name("h.db-shm")):
        if candidate.exists():
            assert candidate.stat().st_mode & 0o777 == 0o600, candidate
    writer.close()


def test_writer_commits_and_reader_sees_events_with_findings(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    writer = EventWriter(path)
    first = writer.write(make_event())
    second = writer.write(make_event("anthropic", findings=(FINDING,)))
    reader = open_reader(path)  # a separate connection sees committed rows at once
    rows = list_events(reader, EventFilter())
    assert [r["id"] for r in rows] == [second, first]
    assert rows[0]["severity"] == "critical"
    assert rows[0]["findings"][0]["masked"] == FINDING.masked
    assert rows[0]["findings"][0]["role"] == "user"
    assert rows[1]["findings"] == []
    assert [r["id"] for r in list_events(reader, EventFilter(min_severity=Severity.HIGH))] == [
        second
    ]
    assert [r["id"] for r in list_events(reader, EventFilter(service="openai"))] == [first]
    assert [r["id"] for r in list_events(reader, EventFilter(after_id=first))] == [second]
    writer.close()


def test_many_concurrent_submits_are_all_committed(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    writer = EventWriter(path)
    futures = [writer.submit(make_event()) for _ in range(500)]
    ids = [f.result(timeout=30) for f in futures]
    writer.close()
    assert len(set(ids)) == 500
    assert sqlite3.connect(path).execute("select count(*) from events").fetchone()[0] == 500


def test_reader_refuses_to_write(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    EventWriter(path).close()
    reader = open_reader(path)
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        reader.execute("DELETE FROM events")


def test_missing_database_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no history yet"):
        open_reader(tmp_path / "absent.db")


def test_corrupt_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="cannot open history database"):
        open_writer(path)


def test_exposures_count_sightings_once_per_event_and_keep_first_seen(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    writer = EventWriter(path)
    twice = dataclasses.replace(FINDING, start=40, end=60)
    first = writer.write(make_event("openai", findings=(FINDING, twice)))
    later = dataclasses.replace(make_event("anthropic", findings=(FINDING,)),
                                timestamp="2026-11-28T10:00:00.000000+00:00")  # fmt: skip
    last = writer.write(later)
    writer.close()
    (exposure,) = exposures(open_reader(path))
    assert exposure["fingerprint"] == FINDING.fingerprint
    assert exposure["sightings"] == 2
    assert exposure["first_seen"] == "2026-11-27T10:00:00.000000+00:00"
    assert exposure["last_seen"] == "2026-11-28T10:00:00.000000+00:00"
    assert (exposure["first_event_id"], exposure["last_event_id"]) == (first, last)
    assert json.loads(exposure["services"]) == ["openai", "anthropic"]
    assert exposure["masked"] == FINDING.masked


def test_retention_prunes_old_events_in_batches_but_keeps_exposures(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    writer = EventWriter(path, retention=Retention(days=30, batch=2, interval_s=3600))
    old = dataclasses.replace(
        make_event(findings=(FINDING,)), timestamp="2020-01-01T00:00:00.000000+00:00"
    )
    for _ in range(5):
        writer.write(old)
    recent = writer.write(make_event())
    writer.close()
    conn = sqlite3.connect(path)
    cutoff = "2026-01-01"
    assert prune_batch(conn, cutoff, 2) == 2
    assert prune_batch(conn, cutoff, 2) == 2
    assert prune_batch(conn, cutoff, 2) == 1
    assert prune_batch(conn, cutoff, 2) == 0
    assert conn.execute("SELECT id FROM events").fetchall() == [(recent,)]
    assert conn.execute("SELECT count(*) FROM findings").fetchone() == (0,)
    assert conn.execute("SELECT first_seen FROM exposures").fetchone() == (old.timestamp,)


def test_writer_prunes_by_itself_when_idle(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    writer = EventWriter(path)
    writer.write(dataclasses.replace(make_event(), timestamp="2020-01-01T00:00:00.000000+00:00"))
    writer.close()
    writer = EventWriter(
        path, retention=Retention(days=30, batch=10, interval_s=0.05, start_delay_s=0)
    )
    deadline = time.monotonic() + 10
    conn = sqlite3.connect(path)
    old_events = "SELECT count(*) FROM events WHERE ts < '2021'"
    while conn.execute(old_events).fetchone()[0] and time.monotonic() < deadline:
        writer.submit(make_event()).result(timeout=10)  # wake the writer; it prunes between
    writer.close()
    assert conn.execute(old_events).fetchone() == (0,)


def test_locked_database_spools_then_replays_without_losing_events(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    writer = EventWriter(path, busy_timeout_ms=50)
    writer.write(make_event("openai"))
    locker = sqlite3.connect(path, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")  # another program holds the write lock
    assert writer.write(make_event("anthropic", findings=(FINDING,))) == SPOOLED
    spool = writer.spool_path
    assert spool.stat().st_mode & 0o777 == 0o600
    assert FINDING.masked in spool.read_text()
    locker.execute("ROLLBACK")
    locker.close()
    writer.write(make_event("openai"))  # the next commit replays the spool
    writer.close()
    assert not spool.exists()
    services = [r["service"] for r in list_events(open_reader(path), EventFilter())]
    assert sorted(services) == ["anthropic", "openai", "openai"]

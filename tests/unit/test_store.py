"""The history database: pinned schema, private files, committed events, read-only readers."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from egress_watch.errors import StoreError
from egress_watch.model import Action, Category, Event, Finding, Severity
from egress_watch.store.database import open_reader, open_writer
from egress_watch.store.queries import EventFilter, list_events
from egress_watch.store.writer import EventWriter


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
    assert db["events"].columns_dict == {
        "id": int, "ts": str, "service": str, "family": str, "host": str, "method": str,
        "path": str, "bytes_out": int, "action": str, "severity": str, "severity_rank": int,
        "finding_count": int, "segment_count": int, "uninspected_reason": str, "error": str,
        "client": str,
    }  # fmt: skip
    assert db["findings"].columns_dict == {
        "id": int, "event_id": int, "category": str, "rule": str, "severity": str,
        "severity_rank": int, "masked": str, "fingerprint": str, "start": int, "end": int,
        "segment_index": int, "role": str, "message_index": int, "reason": str,
    }  # fmt: skip
    assert db.journal_mode == "wal"
    assert [m["name"] for m in db["_sqlite_migrations"].rows] == ["m001_create_events"]


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

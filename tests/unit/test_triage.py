"""Triage against a real history database: ack, allow, list, remove, and change detection."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from egress_watch.model import Action, Category, Event, Finding, Severity
from egress_watch.store import triage
from egress_watch.store.database import open_writer
from egress_watch.store.writer import insert_event

FP = "hmac-sha256:" + "ab" * 32
OTHER = "hmac-sha256:" + "cd" * 32
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    db = open_writer(tmp_path / "history.db")
    yield db.conn
    db.conn.close()


def record(conn: sqlite3.Connection) -> int:
    found = Finding(Category.SECRET, "aws-access-key", Severity.CRITICAL, 0, 20, "AKIA…", FP)
    event = Event("2026-01-05T09:00:00", "openai", "openai-chat", "api.openai.com", "POST",
                  "/v1/chat/completions", 10, Action.PASS, (found,))  # fmt: skip
    return insert_event(conn, event)


def test_allow_takes_the_rule_from_exposures_and_lists_it(conn: sqlite3.Connection) -> None:
    record(conn)
    entry = triage.allow(conn, FP, "  test fixture  ", T0)
    assert entry == triage.Allowed(
        FP, "aws-access-key", "test fixture", T0.isoformat(timespec="microseconds")
    )
    triage.allow(conn, OTHER, "not seen yet", T0 + timedelta(seconds=1))
    assert [(a.fingerprint, a.rule) for a in triage.list_allowed(conn)] == [
        (FP, "aws-access-key"), (OTHER, None),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("fingerprint", "reason", "message"),
    [
        ("3f9a", "x", "not a fingerprint"),
        ("hmac-sha256:" + "g" * 64, "x", "not a fingerprint"),
        (FP, "   ", "--reason must say why"),
    ],
)
def test_allow_rejects_bad_input(
    conn: sqlite3.Connection, fingerprint: str, reason: str, message: str
) -> None:
    with pytest.raises(triage.TriageError, match=message):
        triage.allow(conn, fingerprint, reason)
    assert triage.list_allowed(conn) == []


def test_remove_revokes_and_unknown_fingerprints_are_an_error(conn: sqlite3.Connection) -> None:
    triage.allow(conn, FP, "fixture")
    triage.remove(conn, FP)
    assert triage.list_allowed(conn) == []
    with pytest.raises(triage.TriageError, match="is not allowed"):
        triage.remove(conn, FP)


def test_ack_records_a_note_once_per_event(conn: sqlite3.Connection) -> None:
    event_id = record(conn)
    triage.acknowledge(conn, event_id, "rotated", T0)
    triage.acknowledge(conn, event_id, "rotated twice", T0 + timedelta(hours=1))
    rows = conn.execute("SELECT event_id, note FROM acknowledgements").fetchall()
    assert rows == [(event_id, "rotated twice")]
    with pytest.raises(triage.TriageError, match="no event with id 999"):
        triage.acknowledge(conn, 999, None)


def test_the_watcher_rereads_only_after_a_change(conn: sqlite3.Connection, tmp_path: Path) -> None:
    watcher = triage.AllowlistWatcher(tmp_path / "history.db")
    assert watcher.refresh()  # first read
    assert watcher.fingerprints == frozenset()
    assert not watcher.refresh()
    triage.allow(conn, FP, "fixture", T0)
    assert watcher.refresh()
    assert watcher.fingerprints == {FP}
    triage.allow(conn, FP, "new reason", T0 + timedelta(seconds=1))  # replaced: still a change
    assert watcher.refresh()
    triage.remove(conn, FP)
    assert watcher.refresh()
    assert watcher.fingerprints == frozenset()


def test_the_watcher_keeps_going_without_a_database(tmp_path: Path) -> None:
    watcher = triage.AllowlistWatcher(tmp_path / "missing.db")
    assert not watcher.refresh()
    assert watcher.fingerprints == frozenset()

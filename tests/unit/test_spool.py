"""When the history cannot be written: a bounded spool, health, timed replay in order, outcomes."""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from egress_watch.model import Action, Event
from egress_watch.store.spool import Outcome, Spool
from egress_watch.store.writer import SPOOLED, EventWriter, SpoolFull
from tests.support.export_receivers import wait_until as wait_for
from tests.unit.test_store import FINDING, make_event

DEADLINE_S = 10.0


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Another connection holds the write lock, as a second program would."""
    locker = sqlite3.connect(path, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        locker.execute("ROLLBACK")
        locker.close()


def rows(path: Path) -> list[tuple[int, str, str, str | None]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT id, path, action, error FROM events ORDER BY id").fetchall()
    finally:
        conn.close()


def event(n: int) -> Event:
    return dataclasses.replace(make_event(), path=f"/v1/n/{n}")


def writer_for(tmp_path: Path, spool: Path | None = None, spool_limit: int = 100) -> EventWriter:
    return EventWriter(
        tmp_path / "h.db", spool, busy_timeout_ms=50, spool_limit=spool_limit,
        replay_interval_s=0.05,
    )  # fmt: skip


def test_spool_is_replayed_on_a_timer_without_further_traffic(tmp_path: Path) -> None:
    writer = writer_for(tmp_path)
    try:
        with locked(tmp_path / "h.db"):
            assert [writer.write(event(n)) for n in range(3)] == [SPOOLED] * 3
            health = writer.health()
            assert health.degraded
            assert health.spooled == 3
            assert "locked" in (health.reason or "")
        wait_for(lambda: len(rows(tmp_path / "h.db")) == 3, "the spool to be replayed", DEADLINE_S)
        wait_for(lambda: not writer.health().degraded, "health back to ok", DEADLINE_S)
        assert not writer.spool_path.exists()
    finally:
        writer.close()


def test_replayed_events_keep_their_order_before_later_ones(tmp_path: Path) -> None:
    writer = writer_for(tmp_path)
    try:
        writer.write(event(0))
        with locked(tmp_path / "h.db"):
            writer.write(event(1))
            writer.write(event(2))
            # Still locked when the lock is released below: the next write must not jump ahead.
        writer.write(event(3))
        wait_for(lambda: len(rows(tmp_path / "h.db")) == 4, "all four events", DEADLINE_S)
    finally:
        writer.close()
    assert [r[1] for r in rows(tmp_path / "h.db")] == [f"/v1/n/{n}" for n in range(4)]


def test_unwritable_spool_file_keeps_events_in_memory_until_replayed(tmp_path: Path) -> None:
    # The spool's folder does not exist: every disk write of the spool fails, as on a full disk.
    writer = writer_for(tmp_path, spool=tmp_path / "missing" / "spool.jsonl")
    try:
        with locked(tmp_path / "h.db"):
            assert writer.write(make_event(findings=(FINDING,))) == SPOOLED
            assert writer.health().spooled == 1
        wait_for(
            lambda: len(rows(tmp_path / "h.db")) == 1, "the in-memory spool replayed", DEADLINE_S
        )
    finally:
        writer.close()


def test_spool_kept_in_memory_goes_back_to_disk_once_there_is_room(tmp_path: Path) -> None:
    room = tmp_path / "room"  # missing at first: disk writes of the spool fail
    writer = writer_for(tmp_path, spool=room / "spool.jsonl")
    try:
        with locked(tmp_path / "h.db"):
            writer.write(event(0))
            writer.write(event(1))
            assert not writer.spool_path.exists()
            room.mkdir()  # space is back before the history is
            wait_for(writer.spool_path.exists, "the spool written to disk again", DEADLINE_S)
            assert writer.spool_path.stat().st_mode & 0o777 == 0o600
            assert len(writer.spool_path.read_text().splitlines()) == 2
            writer.write(event(2))  # appended behind them from now on
            assert len(writer.spool_path.read_text().splitlines()) == 3
        wait_for(lambda: len(rows(tmp_path / "h.db")) == 3, "the replay", DEADLINE_S)
    finally:
        writer.close()
    assert [r[1] for r in rows(tmp_path / "h.db")] == ["/v1/n/0", "/v1/n/1", "/v1/n/2"]


def test_full_spool_counts_the_loss_and_tells_the_next_event(tmp_path: Path) -> None:
    writer = writer_for(tmp_path, spool_limit=2)
    try:
        with locked(tmp_path / "h.db"):
            writer.write(event(0))
            writer.write(event(1))
            with pytest.raises(SpoolFull):
                writer.write(event(2))
            assert writer.health().lost == 1
        wait_for(lambda: len(rows(tmp_path / "h.db")) == 2, "the spool replayed", DEADLINE_S)
        writer.write(event(3))
    finally:
        writer.close()
    stored = rows(tmp_path / "h.db")
    assert [r[1] for r in stored] == ["/v1/n/0", "/v1/n/1", "/v1/n/3"]
    assert stored[-1][3] == "1 earlier event(s) lost: history and spool full"


def test_outcome_is_written_onto_a_committed_event(tmp_path: Path) -> None:
    writer = writer_for(tmp_path)
    try:
        first = make_event()
        event_id = writer.write(first)
        assert writer.record_outcome(event_id, first, Action.FAILED, "upstream reset").result(10)
    finally:
        writer.close()
    assert rows(tmp_path / "h.db") == [
        (event_id, "/v1/chat/completions", "failed", "upstream reset")
    ]


def test_outcome_of_a_spooled_event_survives_the_replay(tmp_path: Path) -> None:
    writer = writer_for(tmp_path)
    try:
        with locked(tmp_path / "h.db"):
            spooled = make_event()
            assert writer.write(spooled) == SPOOLED
            writer.record_outcome(SPOOLED, spooled, Action.FAILED, "upstream down").result(10)
            assert '"outcome"' in writer.spool_path.read_text()
        wait_for(lambda: len(rows(tmp_path / "h.db")) == 1, "the replay", DEADLINE_S)
        late = make_event()
        assert writer.write(late) > 0
    finally:
        writer.close()
    assert rows(tmp_path / "h.db")[0][2:] == ("failed", "upstream down")


def test_outcome_arriving_after_the_replay_finds_the_replayed_row(tmp_path: Path) -> None:
    writer = writer_for(tmp_path)
    try:
        with locked(tmp_path / "h.db"):
            spooled = make_event()
            assert writer.write(spooled) == SPOOLED
        wait_for(lambda: len(rows(tmp_path / "h.db")) == 1, "the replay", DEADLINE_S)
        writer.record_outcome(SPOOLED, spooled, Action.FAILED, "upstream reset").result(10)
    finally:
        writer.close()
    assert rows(tmp_path / "h.db")[0][2:] == ("failed", "upstream reset")


def test_spool_left_by_a_crash_is_loaded_with_its_outcomes(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "h.db.spool.jsonl")
    kept = make_event(findings=(FINDING,))
    spool.add([kept, make_event("anthropic")])
    spool.add_outcome(Outcome(0, Action.FAILED, "upstream reset"), kept)
    with (tmp_path / "h.db.spool.jsonl").open("a") as handle:
        handle.write('{"timestamp": "2026-')  # a line torn by the crash
    assert (tmp_path / "h.db.spool.jsonl").stat().st_mode & 0o777 == 0o600
    writer = writer_for(tmp_path)
    writer.close()
    stored = rows(tmp_path / "h.db")
    assert [r[2] for r in stored] == ["failed", "pass"]
    assert not (tmp_path / "h.db.spool.jsonl").exists()


def test_status_line_says_degraded_spooled_and_lost() -> None:
    from egress_watch.store.writer import HistoryHealth
    from egress_watch.workstation.history_health import history_fields, history_line

    assert history_line(history_fields(HistoryHealth())) is None
    line = history_line(history_fields(HistoryHealth(True, "database is locked", None, 7, 2)))
    assert line == (
        "history DEGRADED: database is locked; 7 event(s) spooled, replayed when writable; "
        "2 event(s) LOST (history and spool full)"
    )


def test_dashboard_status_names_the_degraded_history_first() -> None:
    from egress_watch_tui.formatting import status_text

    running = {"running": True, "listen_host": "127.0.0.1", "listen_port": 8080, "requests": 3,
               "events": 1, "history": "degraded", "spooled": 2, "lost": 0}  # fmt: skip
    text = status_text(running).plain
    assert "HISTORY NOT WRITABLE: 2 spooled" in text
    assert text.index("HISTORY") < text.index("requests")
    assert "HISTORY" not in status_text({**running, "history": "ok"}).plain

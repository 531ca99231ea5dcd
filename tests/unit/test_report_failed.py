"""A request whose upstream failed never left: the report does not count its bytes or values."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from egress_watch.model import Action, Event, Finding, utc_iso
from egress_watch.paths import HomePaths
from egress_watch.report.data import build_report
from egress_watch.report.period import Period
from egress_watch.store.database import open_reader
from egress_watch.store.writer import EventWriter
from tests.unit.test_store import FINDING

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def finding(fingerprint_byte: str) -> Finding:
    return dataclasses.replace(FINDING, fingerprint="hmac-sha256:" + fingerprint_byte * 32)


def test_failed_requests_are_neither_bytes_sent_nor_exposed_values(ew_home: HomePaths) -> None:
    when = utc_iso(NOW - timedelta(hours=1))
    sent = Event(when, "openai", "openai-chat", "api.openai.com", "POST", "/v1/chat", 100,
                 Action.PASS, findings=(finding("aa"),))  # fmt: skip
    failed = dataclasses.replace(sent, bytes_out=5000, findings=(finding("bb"),),
                                 action=Action.FAILED, error="upstream error: reset")  # fmt: skip
    ew_home.home.mkdir(parents=True, exist_ok=True)
    writer = EventWriter(ew_home.database)
    writer.write(sent)
    writer.write(failed)
    writer.close()
    period = Period(NOW - timedelta(days=7), NOW)
    db = open_reader(ew_home.database)
    try:
        report = build_report(db, period, period.previous(), NOW)
    finally:
        db.conn.close()
    assert [e.fingerprint for e in report.secrets] == [finding("aa").fingerprint]
    assert report.totals.secrets == 1
    assert report.totals.bytes_out == 100
    assert report.totals.errors == 1

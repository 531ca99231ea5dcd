"""What left and what was stopped: the report (every format), the dashboard and the export agree.

Requests go through the real pipeline in monitor, redact and block modes and through the real
writer; one forwarded request is recorded as never received by the upstream (``failed``).
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from egress_watch.catalog.services import builtin_catalog
from egress_watch.classify.engine import Engine
from egress_watch.config.settings import Settings
from egress_watch.decide.outcome import Outcome, finding_outcome, mark_stopped
from egress_watch.export.outbox import load_events
from egress_watch.export.schema import Identity, export_record, install_id
from egress_watch.model import Action, Capture, Category, Decision, Event, Finding, Mode, Severity
from egress_watch.paths import HomePaths
from egress_watch.pipeline import Inspector, Policy
from egress_watch.report import FORMATS, renderer
from egress_watch.report.data import build_report
from egress_watch.report.period import Period
from egress_watch.store.dashboard import overview
from egress_watch.store.database import open_reader
from egress_watch.store.writer import EventWriter
from egress_watch.workstation.home import prepare_home

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
IDENTITY = Identity("ws", "dev", install_id(b"k" * 32))


def aws_key(last: str) -> str:
    """A distinct well-formed AWS access key id per letter, assembled at run time."""
    return "AKIA" + "Q3EX" + "T7PL" + "N2ZR" + "W5Y" + last


def contact() -> str:
    return "jane.doe" + "@" + "example-corp.com"


@pytest.mark.parametrize(
    ("action", "stopped", "outcome"),
    [
        (Action.PASS, False, Outcome.SENT),
        (Action.PASS, None, Outcome.SENT),
        (Action.REDACT, True, Outcome.REDACTED),
        (Action.REDACT, False, Outcome.SENT),
        (Action.REDACT, None, Outcome.REDACTED),
        (Action.BLOCK, False, Outcome.BLOCKED),
        (Action.FAILED, False, Outcome.NOT_SENT),
        ("something-new", False, Outcome.SENT),
    ],
)
def test_outcome_of_a_finding(action: str, stopped: bool | None, outcome: Outcome) -> None:
    assert finding_outcome(action, stopped) is outcome


def test_a_redaction_stops_only_the_values_it_rewrites() -> None:
    key = Finding(Category.SECRET, "aws", Severity.CRITICAL, 0, 20, "A…", "fp1")
    mail = Finding(Category.PII, "email", Severity.LOW, 30, 40, "j…", "fp2")
    redacted = mark_stopped((key, mail), Decision(Action.REDACT, findings=(key,)))
    assert [f.stopped for f in redacted] == [True, False]
    blocked = mark_stopped((key, mail), Decision(Action.BLOCK, findings=(key,)))
    assert [f.stopped for f in blocked] == [True, True]
    assert [f.stopped for f in mark_stopped((key, mail), Decision(Action.PASS))] == [False] * 2


def inspect(tmp_path: Path, mode: Mode, text: str, when: datetime) -> Event:
    body = json.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": text}]}).encode()
    capture = Capture("POST", "https", "api.openai.com", 443, "/v1/chat/completions",
                      (("content-type", "application/json"),), body)  # fmt: skip
    catalog = builtin_catalog()
    route = catalog.route(capture.host, capture.path)
    assert route is not None
    engine = Engine.configured(b"k" * 32, Settings(), tmp_path)
    return Inspector(catalog, engine, Policy(mode=mode)).inspect(capture, route, now=when).event


@pytest.fixture
def history(ew_home: HomePaths, tmp_path: Path) -> dict[str, str]:
    """Four requests, each with its own key: passed, redacted (an email still left), blocked,
    and forwarded but never received. Returns the key of each outcome."""
    keys = {"sent": aws_key("A"), "redacted": aws_key("B"), "blocked": aws_key("C"),
            "not_sent": aws_key("D")}  # fmt: skip
    prepare_home(ew_home)
    events = [
        inspect(tmp_path, Mode.MONITOR, f"deploy with {keys['sent']}", NOW - timedelta(hours=5)),
        inspect(
            tmp_path,
            Mode.REDACT,
            f"key {keys['redacted']}, mail {contact()}",
            NOW - timedelta(hours=4),
        ),
        inspect(tmp_path, Mode.BLOCK, f"key {keys['blocked']}", NOW - timedelta(hours=3)),
        dataclasses.replace(  # the upstream reset the connection: recorded as failed
            inspect(tmp_path, Mode.MONITOR, f"key {keys['not_sent']}", NOW - timedelta(hours=2)),
            action=Action.FAILED,
        ),
    ]
    assert [e.action for e in events] == [Action.PASS, Action.REDACT, Action.BLOCK, Action.FAILED]
    assert all(any(f.category == Category.SECRET for f in e.findings) for e in events)
    writer = EventWriter(ew_home.database)
    try:
        for event in events:
            writer.write(event)
    finally:
        writer.close()
    return keys


def report_doc(home: HomePaths) -> dict[str, object]:
    period = Period(NOW - timedelta(days=7), NOW)
    db = open_reader(home.database)
    try:
        data = build_report(db, period, period.previous(), NOW)
    finally:
        db.conn.close()
    return json.loads(renderer("json")(data))  # type: ignore[no-any-return]


def test_only_values_that_left_are_exposed(ew_home: HomePaths, history: dict[str, str]) -> None:
    doc = report_doc(ew_home)
    secrets = doc["secrets"]
    stopped = doc["stopped"]
    assert isinstance(secrets, list)
    assert isinstance(stopped, list)
    assert len(secrets) == 1
    assert secrets[0]["masked"].split(" ")[0].endswith(history["sent"][-4:])
    # the email of the redacted request was not redacted: it left, so it is no stopped value
    by_tail = {s["masked"].split(" ")[0][-4:]: s for s in stopped if s["category"] == "secret"}
    assert set(by_tail) == {history[k][-4:] for k in ("redacted", "blocked", "not_sent")}
    assert [by_tail[history["redacted"][-4:]][k] for k in ("redacted", "blocked", "not_sent")] == [
        1,
        0,
        0,
    ]
    assert by_tail[history["blocked"][-4:]]["blocked"] == 1
    assert by_tail[history["not_sent"][-4:]]["not_sent"] == 1
    assert all(s["category"] != "pii" for s in stopped)
    totals = doc["totals"]
    assert isinstance(totals, dict)
    assert (totals["secrets"], totals["stopped"], totals["blocked"], totals["not_sent"]) == (
        1,
        3,
        1,
        1,
    )
    assert [a["masked"] for a in doc["attention"]] == [secrets[0]["masked"]]  # type: ignore[index]


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_lists_stopped_values_apart(
    ew_home: HomePaths, history: dict[str, str], fmt: str
) -> None:
    period = Period(NOW - timedelta(days=7), NOW)
    db = open_reader(ew_home.database)
    try:
        page = renderer(fmt)(build_report(db, period, period.previous(), NOW))
    finally:
        db.conn.close()
    for key in history.values():
        assert key not in page
    if fmt == "json":
        return
    rotate_at = page.index("Secrets to rotate")
    stopped_at = page.index("Stopped before leaving", rotate_at)
    rotate = page[rotate_at:stopped_at]
    stopped = page[stopped_at:]
    assert history["sent"][-4:] in rotate
    for kind in ("redacted", "blocked", "not_sent"):
        assert history[kind][-4:] not in rotate, kind
        assert history[kind][-4:] in stopped, kind


def test_dashboard_and_export_agree_with_the_report(
    ew_home: HomePaths, history: dict[str, str]
) -> None:
    doc = report_doc(ew_home)
    db = open_reader(ew_home.database)
    try:
        figures = overview(db, NOW)
    finally:
        db.conn.close()
    conn = sqlite3.connect(ew_home.database)
    try:
        ids = [row[0] for row in conn.execute("SELECT id FROM events ORDER BY id")]
        records = [export_record(i, e, IDENTITY) for i, e in load_events(conn, ids).items()]
    finally:
        conn.close()
    left = {f["fingerprint"] for r in records for f in r["findings"] if f["outcome"] == "sent"}
    seen = {f["fingerprint"] for r in records for f in r["findings"]}
    secrets_left = {
        f["fingerprint"]
        for r in records
        for f in r["findings"]
        if f["outcome"] == "sent" and f["category"] == "secret"
    }
    assert {s["fingerprint"] for s in doc["secrets"]} == secrets_left  # type: ignore[union-attr]
    assert {s["fingerprint"] for s in doc["stopped"]} == seen - left  # type: ignore[union-attr]
    assert figures.secrets_this_week == len(secrets_left) == 1
    assert figures.exposures_this_week == len(left)
    assert figures.stopped_this_week == len(seen - left) == 3
    assert sum(n for _, n in figures.days) == 2  # the passed request and the redacted one
    outcomes = [sorted({f["outcome"] for f in r["findings"]}) for r in records]
    assert outcomes == [["sent"], ["redacted", "sent"], ["blocked"], ["not_sent"]]
    assert [r["values_left"] for r in records] == [len(records[0]["findings"]), 1, 0, 0]

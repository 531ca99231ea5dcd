"""The report's numbers on a known week: windows, counts, the rotation checklist and its order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from egress_watch.paths import HomePaths
from egress_watch.report.contents import ReportData
from egress_watch.report.data import build_report, merged_line_count
from egress_watch.report.period import Period, resolve_period
from egress_watch.store.database import open_reader
from egress_watch.store.queries import parse_when
from tests.support.report_seed import EXPECTED, S1, S2, WEEK, seed_week

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def seeded_report(home: HomePaths, period: Period | None = None) -> ReportData:
    seed_week(home)
    period = period or Period(datetime.fromisoformat(WEEK[0]), datetime.fromisoformat(WEEK[1]))
    db = open_reader(home.database)
    try:
        return build_report(db, period, period.previous(), NOW)
    finally:
        db.conn.close()


@pytest.mark.parametrize(
    ("spans", "lines"),
    [
        ([], 0),
        ([(10, 40)], 31),
        ([(10, 40), (30, 50)], 41),
        ([(30, 50), (10, 40), (10, 40)], 41),
        ([(1, 5), (6, 6), (20, 21)], 8),
        ([(1, 100), (5, 10)], 100),
    ],
)
def test_lines_sent_are_counted_once(spans: list[tuple[int, int]], lines: int) -> None:
    assert merged_line_count(spans) == lines


@pytest.mark.parametrize(
    ("args", "start", "end"),
    [
        ({}, NOW - timedelta(days=7), NOW),
        ({"since": "12h"}, NOW - timedelta(hours=12), NOW),
        ({"start": "2026-11-16T00:00:00+00:00"}, datetime(2026, 11, 16, tzinfo=UTC), NOW),
        (
            {"start": "2026-11-16T00:00:00+00:00", "end": "2026-11-20T06:00:00+00:00"},
            datetime(2026, 11, 16, tzinfo=UTC),
            datetime(2026, 11, 20, 6, tzinfo=UTC),
        ),
    ],
)
def test_the_window(args: dict[str, str], start: datetime, end: datetime) -> None:
    period = resolve_period(NOW, **args)
    assert (period.start, period.end) == (start, end)
    assert period.previous() == Period(start - (end - start), start)


def test_a_bare_to_date_includes_that_whole_day() -> None:
    period = resolve_period(NOW, start="2026-11-16", end="2026-11-22")
    assert period.end - period.start == timedelta(days=7)
    assert period.end == parse_when("2026-11-23", NOW)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"since": "7d", "start": "2026-11-01"}, "either --since or --from"),
        ({"end": "2026-11-01"}, "--to needs --from"),
        ({"start": "2026-11-20T00:00:00+00:00", "end": "2026-11-19T00:00:00+00:00"}, "empty"),
        ({"since": "last week"}, "expected a duration"),
    ],
)
def test_windows_that_make_no_sense_are_refused(args: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        resolve_period(NOW, **args)


def test_totals_of_the_week_and_the_one_before(ew_home: HomePaths) -> None:
    report = seeded_report(ew_home)
    assert vars_of(report.totals) == EXPECTED["totals"]
    assert vars_of(report.previous_totals) == EXPECTED["previous_totals"]
    trend = {row.key: (row.current, row.previous, row.change) for row in report.trend}
    assert trend["requests"] == (10, 3, 7)
    assert trend["shadow_hosts"] == (2, 2, 0)


def vars_of(totals: object) -> dict[str, int]:
    return {name: getattr(totals, name) for name in totals.__slots__}  # type: ignore[attr-defined]


def test_traffic_per_service_and_per_tool(ew_home: HomePaths) -> None:
    report = seeded_report(ew_home)
    assert {s.name: (s.requests, s.bytes_out, s.findings) for s in report.services} == EXPECTED[
        "services"
    ]
    assert {t.name: (t.requests, t.bytes_out) for t in report.tools} == EXPECTED["tools"]
    openai = next(s for s in report.services if s.name == "openai")
    assert (openai.redacted, openai.blocked, openai.uninspected) == (1, 1, 0)


def test_rotation_checklist_puts_unacknowledged_critical_first(ew_home: HomePaths) -> None:
    report = seeded_report(ew_home)
    assert [
        (s.rule, s.masked, s.new, s.status, s.services, s.tools) for s in report.secrets
    ] == EXPECTED["secrets"]
    assert [a.fingerprint for a in report.attention] == [S2.fingerprint, S1.fingerprint]
    aws = report.secrets[1]
    assert aws.first_seen.startswith("2026-11-10")  # seen the week before: not new
    assert aws.requests == 2


def test_findings_by_category_and_severity(ew_home: HomePaths) -> None:
    report = seeded_report(ew_home)
    assert [(f.category, f.severity, f.findings, f.unique_values) for f in report.findings] == [
        ("secret", "critical", 5, 3),
        ("proprietary", "high", 4, 4),
        ("secret", "high", 1, 1),
        ("infra", "medium", 1, 1),
        ("pii", "low", 2, 1),
    ]


def test_proprietary_code_per_repository(ew_home: HomePaths) -> None:
    report = seeded_report(ew_home)
    assert {r.repo: (r.files, r.lines, r.requests) for r in report.repositories} == EXPECTED[
        "repositories"
    ]
    lib = report.repositories[0]
    assert (lib.services, lib.tools) == (("anthropic", "openai"), ("claude", "codex"))


def test_uninspected_egress_and_shadow_ai_hosts(ew_home: HomePaths) -> None:
    report = seeded_report(ew_home)
    assert [(u.service, u.reason, u.requests) for u in report.uninspected] == [
        ("gemini", "body too large", 1),
        ("gemini", "unknown content-encoding", 1),
    ]
    assert [h.host for h in report.shadow_hosts] == EXPECTED["shadow_hosts"]
    assert [(h.new, h.connections, h.tool) for h in report.shadow_hosts] == [
        (True, 3, "cursor"),
        (False, 2, "codex"),
    ]


def test_the_window_end_is_exclusive_and_its_start_inclusive(ew_home: HomePaths) -> None:
    """The critical value sent at exactly the window's end belongs to the next week."""
    next_week = Period(
        datetime.fromisoformat(WEEK[1]), datetime.fromisoformat(WEEK[1]) + timedelta(days=7)
    )
    report = seeded_report(ew_home, next_week)
    assert report.totals.requests == 1
    assert [s.rule for s in report.attention] == ["password-assignment"]
    assert report.previous_totals.requests == 10


def test_an_empty_window_is_an_empty_report(ew_home: HomePaths) -> None:
    quiet = Period(datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 1, 8, tzinfo=UTC))
    report = seeded_report(ew_home, quiet)
    assert report.totals.requests == 0
    assert report.secrets == report.attention == report.services == ()

"""The report's "Where it went": requests, bytes, secrets and proprietary files per jurisdiction
and per region, endpoints that may train by default called out, in every format."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from egress_watch.catalog.services import builtin_catalog
from egress_watch.model import Action, Event
from egress_watch.paths import HomePaths
from egress_watch.report.contents import ReportData
from egress_watch.report.data import build_report
from egress_watch.report.html import render_html
from egress_watch.report.json_format import report_json
from egress_watch.report.markdown import render_markdown
from egress_watch.report.period import Period
from egress_watch.report.text import render_text
from egress_watch.store.database import open_reader
from egress_watch.store.writer import EventWriter
from egress_watch.workstation.home import prepare_home
from tests.support.report_seed import PLANTED, S1, S2, code
from tests.unit.test_report_formats import html_rows, markdown_rows, text_rows

WEEK = Period(datetime(2026, 11, 16, tzinfo=UTC), datetime(2026, 11, 23, tzinfo=UTC))


def sent(host: str, path: str, size: int, **changes: object) -> Event:
    """An event as the proxy records it: the catalog's facts for the host, at mid-week."""
    route = builtin_catalog().route(host, path)
    assert route is not None, host
    facts = builtin_catalog().facts(host)
    event = Event(
        "2026-11-18T10:00:00.000000+00:00", route.service_id, route.family, host, "POST", path,
        size, Action.PASS, jurisdictions=facts.jurisdictions, region=facts.region,
    )  # fmt: skip
    return Event(**{**{f: getattr(event, f) for f in event.__slots__}, **changes})  # type: ignore[arg-type]


@pytest.fixture
def report(ew_home: HomePaths) -> ReportData:
    prepare_home(ew_home)
    writer = EventWriter(ew_home.database)
    proprietary = code("/src/payments", "ledger.py", 10, 40)
    events = [
        sent("api.deepseek.com", "/chat/completions", 1000, findings=(S1, proprietary)),
        sent(
            "dashscope-intl.aliyuncs.com",
            "/compatible-mode/v1/chat/completions",
            2000,
            findings=(S2,),
            action=Action.BLOCK,
        ),
        sent("api.kimi.com", "/coding/v1/chat/completions", 300),  # CN, unconfirmed
        sent("api.openai.com", "/v1/chat/completions", 400),
        sent("chatgpt.com", "/backend-api/codex/responses", 500, findings=(S1,)),
        # recorded before the catalog had facts: no jurisdictions, no region
        sent("api.anthropic.com", "/v1/messages", 600, jurisdictions=(), region=None),
    ]
    try:
        for event in events:
            writer.submit(event).result(timeout=30)
    finally:
        writer.close()
    db = open_reader(ew_home.database)
    try:
        return build_report(db, WEEK, WEEK.previous(), datetime(2026, 11, 27, tzinfo=UTC))
    finally:
        db.conn.close()


def test_places_count_requests_bytes_secrets_and_files(report: ReportData) -> None:
    by_code = {p.name: p for p in report.where.jurisdictions}
    assert list(by_code) == ["CN", "US", "SG", "unknown"]  # most requests first, unknown last
    cn = by_code["CN"]
    # bytes and values count only what reached the service: the blocked request's 2000 bytes
    # and its secret stayed home (the report's "what left" rule, issue 18)
    assert (cn.requests, cn.bytes_out, cn.blocked, cn.unconfirmed) == (3, 1300, 1, 1)
    assert (cn.secrets, cn.proprietary_files) == (1, 1)
    assert cn.services == ("dashscope", "deepseek", "moonshot")
    sg = by_code["SG"]  # dashscope-intl's operator: counted under SG and its parent's CN
    assert (sg.requests, sg.bytes_out, sg.secrets, sg.services) == (1, 0, 0, ("dashscope",))
    us = by_code["US"]
    assert (us.requests, us.bytes_out, us.secrets) == (2, 900, 1)
    assert by_code["unknown"].services == ("anthropic",)
    regions = {p.name: (p.requests, p.bytes_out, p.secrets) for p in report.where.regions}
    assert regions == {
        "CN-mainland": (1, 1000, 1),
        "SG": (1, 0, 0),
        "global": (1, 400, 0),
        "unknown": (3, 1400, 1),
    }


def test_endpoints_that_may_train_are_called_out(report: ReportData) -> None:
    (codex,) = report.where.training  # kimi's terms are unknown: not guessed
    assert (codex.service, codex.host, codex.may_train) == (
        "chatgpt-codex",
        "chatgpt.com",
        "some-tiers",
    )
    assert (codex.requests, codex.secrets) == (1, 1)
    assert any(term.startswith("free-plus-pro: trained by default") for term in codex.terms)


@pytest.mark.parametrize(
    ("render", "rows"),
    [
        (render_markdown, markdown_rows),
        (render_html, html_rows),
        (lambda data: render_text(data, width=200), text_rows),
    ],
    ids=["md", "html", "text"],
)
def test_every_format_has_the_section(report: ReportData, render: object, rows: object) -> None:
    page = render(report)  # type: ignore[operator]
    assert "Where it went" in page
    cells = rows(page)  # type: ignore[operator]
    assert [
        "CN (1 unconfirmed)",
        "3",
        "1.3 KiB",
        "1",
        "1",
        "1",
        "dashscope, deepseek, moonshot",
    ] in cells
    assert ["jurisdiction unknown", "1", "600 B", "0", "0", "0", "anthropic"] in cells
    assert ["CN-mainland", "1", "1000 B", "0", "1", "1", "deepseek"] in cells
    codex_row = ["chatgpt-codex", "chatgpt.com"]
    assert any(row[:2] == codex_row and row[3] == "some-tiers" for row in cells)
    for value in PLANTED:
        assert value not in page


def test_json_carries_the_section(report: ReportData) -> None:
    where = report_json(report)["where_it_went"]
    assert where["jurisdictions"][0]["name"] == "CN"
    assert where["training"][0]["host"] == "chatgpt.com"

"""The dashboard shows where requests went: the detail's jurisdictions and region, and the
overview's requests per jurisdiction (a subsidiary counted under its parent's country too)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from test_app import NOW, _app, _event, shown_text, wait_for

from egress_watch.store.dashboard import event_detail, overview
from egress_watch.store.database import open_reader
from egress_watch.store.writer import EventWriter
from egress_watch_tui.filters import FeedFilter, parse_filter
from egress_watch_tui.screens.detail import where_it_went


@pytest.mark.parametrize(
    ("event", "shown"),
    [
        ({"jurisdictions": ["SG", "CN"], "region": "SG"}, "jurisdictions SG, CN · region SG"),
        (
            {"jurisdictions": ["CN?"], "region": "MY+ID?"},
            "jurisdictions CN (unconfirmed) · region MY+ID (unconfirmed)",
        ),
        ({"jurisdictions": [], "region": "unknown"}, "jurisdictions unknown · region unknown"),
        ({"jurisdictions": [], "region": None}, "not recorded (the catalog had no facts"),
    ],
)
def test_detail_line(event: dict[str, object], shown: str) -> None:
    assert where_it_went(event).startswith(shown)


def test_overview_counts_requests_per_jurisdiction(database: Path, writer: EventWriter) -> None:
    at = NOW - timedelta(hours=1)
    intl = replace(_event(at, service="dashscope", host="dashscope-intl.aliyuncs.com"),
                   jurisdictions=("SG", "CN"), region="SG")  # fmt: skip
    writer.write(intl)
    writer.write(replace(intl, jurisdictions=("CN?",), region="unknown", host="api.kimi.com"))
    writer.write(replace(_event(at), jurisdictions=("US",), region="global"))
    writer.write(_event(at))  # recorded without facts
    db = open_reader(database)
    try:
        figures = overview(db, NOW)
        detail = event_detail(db, 1)
    finally:
        db.conn.close()
    assert figures.top_jurisdictions == [("CN", 2), ("SG", 1), ("US", 1), ("unknown", 1)]
    assert detail is not None
    assert (detail["jurisdictions"], detail["region"]) == (["SG", "CN"], "SG")


@pytest.mark.anyio
async def test_the_feed_filters_by_jurisdiction(database: Path, writer: EventWriter) -> None:
    at = NOW - timedelta(minutes=2)
    writer.write(replace(_event(at, service="deepseek", host="api.deepseek.com"),
                         jurisdictions=("CN",), region="CN-mainland"))  # fmt: skip
    writer.write(replace(_event(at, service="moonshot", host="api.kimi.com"),
                         jurisdictions=("CN?",), region="unknown"))  # fmt: skip
    writer.write(replace(_event(at), jurisdictions=("US",), region="global"))
    app = _app(database)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.event_table.row_count == 3, "the seeded rows")
        await pilot.press("slash", *"juris:cn", "enter")
        await wait_for(pilot, lambda: app.event_table.row_count == 2, "the CN requests")
        assert app.feed_filter == FeedFilter(jurisdiction="CN")
        assert "jurisdiction:CN" in shown_text(app.filter_bar.summary)


def test_a_bad_jurisdiction_is_refused() -> None:
    with pytest.raises(ValueError, match="two-letter country code"):
        parse_filter("jurisdiction:China")

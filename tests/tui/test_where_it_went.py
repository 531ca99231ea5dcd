"""The dashboard shows where requests went: the detail's jurisdictions and region, and the
overview's requests per jurisdiction (a subsidiary counted under its parent's country too)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from test_app import NOW, _event

from egress_watch.store.dashboard import event_detail, overview
from egress_watch.store.database import open_reader
from egress_watch.store.writer import EventWriter
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

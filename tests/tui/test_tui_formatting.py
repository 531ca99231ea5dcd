"""The dashboard's pure parts: text helpers and message replacement rules, as tables."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from egress_watch_tui.formatting import (
    findings_summary,
    local_time,
    severity_text,
    shorten_target,
    status_text,
    uptime,
    where_in_request,
)
from egress_watch_tui.messages import DaemonStatusRead, EventsFetched, HistoryMissing
from egress_watch_tui.widgets.event_table import COLUMNS, column_widths, columns_for

TODAY = date(2026, 5, 4)  # local dates, with conftest's UTC-5 zone


@pytest.mark.parametrize(
    ("ts", "expected"),
    [
        ("2026-05-04T17:00:00.000000+00:00", "12:00:00"),
        ("2026-05-04T05:00:00.000000+00:00", "00:00:00"),
        ("2026-05-04T04:59:59.000000+00:00", "03 May"),
        ("2026-03-25T17:00:00+00:00", "25 Mar"),
        ("2025-11-03T17:00:00+00:00", "Nov 2025"),
        ("2026-05-04T17:00:00", "12:00:00"),  # naive: stored as UTC
    ],
)
def test_local_time(ts: str, expected: str) -> None:
    assert local_time(ts, TODAY) == expected


@pytest.mark.parametrize(
    ("host", "path", "width", "expected"),
    [
        ("api.openai.com", "/v1/chat/completions", 40, "api.openai.com/v1/chat/completions"),
        ("api.anthropic.com", "/v1/messages", 19, "api.an…/v1/messages"),
        ("api.openai.com", "/v1/chat/completions", 19, "…/chat/completions"),
        ("h.example", "/averyveryverylongsegment", 10, "…ngsegment"),
    ],
)
def test_shorten_target_keeps_the_path(host: str, path: str, width: int, expected: str) -> None:
    assert shorten_target(host, path, width) == expected
    assert len(shorten_target(host, path, width)) <= width


def _finding(category: str, rule: str) -> dict[str, Any]:
    return {"category": category, "rule": rule}


AWS = _finding("secret", "aws-access-key")
GITHUB = _finding("secret", "github-token")
EMAIL = _finding("pii", "email")


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ({"findings": []}, "—"),
        ({"findings": [], "uninspected_reason": "body too large"}, "not inspected"),
        (
            {
                "findings": [
                    _finding("secret", "aws-access-key"),
                    _finding("secret", "github-token"),
                ]
            },
            "2 secret: aws-access-key, github-token",
        ),
        (
            {
                "findings": [
                    _finding("secret", "aws-access-key"),
                    _finding("secret", "aws-access-key"),
                ]
            },
            "2 secret: aws-access-key",
        ),
        (
            {"findings": [_finding("secret", "github-token"), _finding("pii", "email")]},
            "2 findings: github-token, email",
        ),
    ],
)
def test_findings_summary(event: dict[str, Any], expected: str) -> None:
    assert findings_summary(event).plain == expected


@pytest.mark.parametrize(
    ("label", "style"),
    [
        ("critical", "bold red"),
        ("high", "red"),
        ("medium", "yellow"),
        ("low", "dim"),
        (None, "dim"),
    ],
)
def test_severity_colours(label: str | None, style: str) -> None:
    assert str(severity_text(label).style) == style


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(5, "5s"), (125, "2m"), (7384, "2h03m"), (200_000, "2d07h")],
)
def test_uptime(seconds: float, expected: str) -> None:
    assert uptime(seconds) == expected


@pytest.mark.parametrize(
    ("finding", "expected"),
    [
        ({"role": "user", "message_index": 3}, "user, message 3"),
        ({"role": "system", "message_index": None}, "system"),
        ({"role": "", "message_index": 0}, "message 0"),
        ({"role": "", "message_index": None}, "—"),
    ],
)
def test_where_in_request(finding: dict[str, Any], expected: str) -> None:
    assert where_in_request(finding) == expected


def test_status_text_counts_errors_only_when_there_are_some() -> None:
    running = {"running": True, "listen_host": "127.0.0.1", "listen_port": 9090, "errors": 2}
    assert "2 errors" in status_text(running).plain
    assert "errors" not in status_text({**running, "errors": 0}).plain
    assert status_text(None).plain == "reading daemon status…"


@pytest.mark.parametrize("total", [80, 100, 120, 200])
def test_columns_fill_the_width_without_overflowing(total: int) -> None:
    widths = column_widths(total, cell_padding=1)
    columns = columns_for(total)
    assert len(widths) == len(columns)
    assert sum(widths) + 2 * len(columns) <= total - 2
    assert (columns == COLUMNS) == (total >= 100), "severity and host/path only when wide"


def test_messages_replace_only_what_they_supersede() -> None:
    first_load = EventsFetched([], None)
    assert first_load.can_replace(EventsFetched([{"id": 1}], None))
    assert EventsFetched([], 3).can_replace(EventsFetched([{"id": 4}], 3))
    assert not EventsFetched([], 3).can_replace(EventsFetched([], 4))
    assert not first_load.can_replace(HistoryMissing(Path("history.db")))
    assert HistoryMissing(Path("a")).can_replace(HistoryMissing(Path("a")))
    assert DaemonStatusRead({"running": False}).can_replace(DaemonStatusRead({"running": True}))
    assert not DaemonStatusRead({"running": False}).can_replace(first_load)

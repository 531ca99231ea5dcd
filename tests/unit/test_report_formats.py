"""The four formats of one seeded week: the same numbers in each, and nothing secret in any."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest

from egress_watch.paths import HomePaths
from egress_watch.report import FORMATS, renderer
from egress_watch.report.common import human_bytes, trend_change, trend_value, when
from egress_watch.report.contents import TREND_LABELS, ReportData, TrendRow
from egress_watch.report.data import assemble, build_report
from egress_watch.report.html import render_html
from egress_watch.report.json_format import report_json
from egress_watch.report.markdown import render_markdown
from egress_watch.report.period import Period
from egress_watch.report.queries import PeriodRows
from egress_watch.report.text import render_text
from egress_watch.store.database import open_reader
from tests.support.report_seed import EXPECTED, PLANTED, WEEK, seed_week

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
SCHEMA_DOC = Path(__file__).parents[2] / "docs" / "report-schema.md"


@pytest.fixture
def report(ew_home: HomePaths) -> ReportData:
    seed_week(ew_home)
    period = Period(datetime.fromisoformat(WEEK[0]), datetime.fromisoformat(WEEK[1]))
    db = open_reader(ew_home.database)
    try:
        return build_report(db, period, period.previous(), NOW)
    finally:
        db.conn.close()


class _Cells(HTMLParser):
    """Table rows of an HTML page as lists of cell texts."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def html_rows(page: str) -> list[list[str]]:
    parser = _Cells()
    parser.feed(page)
    return parser.rows


def markdown_rows(page: str) -> list[list[str]]:
    rows = []
    for line in page.splitlines():
        if line.startswith("| "):
            cells = re.split(r"(?<!\\)\|", line.strip())[1:-1]
            rows.append([c.strip().strip("`").replace("\\", "").strip("*") for c in cells])
    return rows


def text_rows(page: str) -> list[list[str]]:
    return [re.split(r"\s{2,}", line.strip()) for line in page.splitlines() if line.strip()]


ROWS = {
    "md": lambda data: markdown_rows(render_markdown(data)),
    "html": lambda data: html_rows(render_html(data)),
    "text": lambda data: text_rows(render_text(data, width=160)),
}


def expected_rows(doc: dict[str, object]) -> list[list[str]]:
    """The table rows every human format must contain, computed from the JSON document."""
    rows: list[list[str]] = []
    totals, previous = doc["totals"], doc["previous_totals"]
    assert isinstance(totals, dict)
    assert isinstance(previous, dict)
    for key, label in TREND_LABELS:
        row = TrendRow(key, label, totals[key], previous[key])
        rows.append([label, trend_value(row, row.current), trend_value(row, row.previous),
                     trend_change(row)])  # fmt: skip
    for section in ("services", "tools"):
        for r in doc[section]:  # type: ignore[attr-defined]
            rows.append([r["name"], str(r["requests"]), human_bytes(r["bytes_out"]),
                         str(r["findings"]), str(r["redacted"]), str(r["blocked"]),
                         str(r["not_sent"]), str(r["uninspected"])])  # fmt: skip
    for v in doc["stopped"]:  # type: ignore[attr-defined]
        rows.append([v["severity"], v["rule"], v["masked"], str(v["redacted"]), str(v["blocked"]),
                     str(v["not_sent"]), ", ".join(v["services"]), ", ".join(v["tools"]),
                     when(v["last_seen"])])  # fmt: skip
    for f in doc["findings"]:  # type: ignore[attr-defined]
        rows.append([f["category"], f["severity"], str(f["findings"]), str(f["unique_values"])])
    for r in doc["repositories"]:  # type: ignore[attr-defined]
        rows.append([r["repo"], str(r["files"]), str(r["lines"]), str(r["requests"]),
                     ", ".join(r["services"]), ", ".join(r["tools"])])  # fmt: skip
    for u in doc["uninspected"]:  # type: ignore[attr-defined]
        rows.append([u["service"], u["host"], u["reason"], str(u["requests"]),
                     human_bytes(u["bytes_out"])])  # fmt: skip
    return rows


def test_json_has_the_seeded_numbers_and_a_schema_version(report: ReportData) -> None:
    doc = json.loads(renderer("json")(report))
    assert doc["schema_version"] == 2
    assert doc["period"] == {"start": "2026-11-16T00:00:00.000000+00:00",
                             "end": "2026-11-23T00:00:00.000000+00:00"}  # fmt: skip
    assert doc["totals"] == EXPECTED["totals"]
    assert doc["previous_totals"] == EXPECTED["previous_totals"]
    assert [(s["rule"], s["masked"], s["new"], s["status"]) for s in doc["secrets"]] == [
        e[:4] for e in EXPECTED["secrets"]
    ]
    assert [a["rule"] for a in doc["attention"]] == ["openai-project-key", "aws-access-key"]
    # the blocked github token never left: stopped, not on the rotation checklist
    assert [(v["rule"], v["blocked"], v["redacted"], v["tools"]) for v in doc["stopped"]] == [
        ("github-token", 1, 0, ["cursor"])
    ]
    assert {r["repo"]: (r["files"], r["lines"], r["requests"]) for r in doc["repositories"]} == (
        EXPECTED["repositories"]
    )
    assert [h["host"] for h in doc["shadow_hosts"]] == EXPECTED["shadow_hosts"]


@pytest.mark.parametrize("fmt", ["md", "html", "text"])
def test_every_format_shows_the_same_numbers_as_the_json(report: ReportData, fmt: str) -> None:
    doc = json.loads(renderer("json")(report))
    rows = ROWS[fmt](report)
    for row in expected_rows(doc):
        assert row in rows, f"{fmt} lacks the row {row}"


def test_the_formats_agree_on_the_headline_numbers(report: ReportData) -> None:
    """A spot check of literal values, so agreement is not agreement on a wrong number."""
    for fmt in ("md", "html", "text"):
        rows = ROWS[fmt](report)
        assert ["Requests inspected", "10", "3", "+7"] in rows, fmt
        assert ["Unacknowledged critical", "2", "1", "+1"] in rows, fmt
        assert ["Bytes sent", "7.0 MiB", "4.4 KiB", "+7.0 MiB"] in rows, fmt
        assert ["/src/lib", "2", "46", "2", "anthropic, openai", "claude, codex"] in rows, fmt


@pytest.mark.parametrize("fmt", ["md", "html", "text"])
def test_rotation_checklist_order_and_masks_in_every_format(report: ReportData, fmt: str) -> None:
    page = {"md": render_markdown, "html": render_html, "text": render_text}[fmt](report)
    if fmt == "html":
        page = page.replace("&amp;", "&")
    checklist = page[page.index("Secrets to rotate") :]
    positions = [checklist.index(masked) for _, masked, *_ in EXPECTED["secrets"]]
    assert positions == sorted(positions)
    attention = page[page.index("Act on these first") : page.index("Secrets to rotate")]
    assert "openai-project-key" in attention
    assert "github-token" not in attention  # acknowledged
    assert "slack-bot-token" not in attention  # allowlisted, and only high
    assert checklist.count("unacknowledged") == 2


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_planted_value_reaches_any_format(report: ReportData, fmt: str) -> None:
    """Command lines, working directory, path query, errors, reasons and path hints all held
    raw values; the report prints only masks."""
    page = renderer(fmt)(report)
    for value in PLANTED:
        assert value not in page
        assert value[4:-4] not in page
    for leak in ("--api-key", "Bearer", "/v1/chat", "export TOKEN", "upstream 401", "matched ",
                 ".env", "127.0.0.1", "rotated"):  # fmt: skip
        assert leak not in page, f"{fmt} printed {leak!r}"


def hostile() -> ReportData:
    """A report whose names are markup in every format."""
    evil = "<script>alert(1)</script>|[bold]x[/bold]|`tick`"
    usage = {"name": evil, "requests": 1, "bytes_out": 5, "findings": 0, "redacted": 0,
             "blocked": 0, "not_sent": 0, "uninspected": 1, "errors": 0}  # fmt: skip
    rows = PeriodRows(
        services=[usage], tools=[usage], findings=[], exposed=[], stopped=[], repositories=[],
        spans=[],
        uninspected=[{"service": evil, "host": evil, "reason": evil, "requests": 1,
                      "bytes_out": 5}],
        shadow_hosts=[{"host": evil, "first_seen": "2026-11-17T00:00:00+00:00",
                       "last_seen": "2026-11-17T00:00:00+00:00", "connections": 1,
                       "reason": evil, "tool": evil}],
    )  # fmt: skip
    empty = PeriodRows([], [], [], [], [], [], [], [], [])
    period = Period(datetime.fromisoformat(WEEK[0]), datetime.fromisoformat(WEEK[1]))
    return assemble(rows, empty, period, period.previous(), NOW)


def test_html_escapes_every_name() -> None:
    page = render_html(hostile())
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_markdown_names_cannot_break_a_table() -> None:
    page = render_markdown(hostile())
    tables: list[set[int]] = []
    previous = ""
    for line in page.splitlines():
        if line.startswith("|"):
            if not previous.startswith("|"):
                tables.append(set())
            tables[-1].add(len(re.findall(r"(?<!\\)\|", line)))
        previous = line
    assert len(tables) == 5
    assert all(len(widths) == 1 for widths in tables), tables
    assert "<script>" not in page


def test_text_prints_rich_markup_literally() -> None:
    page = render_text(hostile(), width=200)
    assert "[bold]x[/bold]" in page


def test_text_colour_only_when_asked(report: ReportData) -> None:
    assert "\x1b[" not in render_text(report)
    assert "\x1b[" in render_text(report, color=True)


def test_html_is_self_contained(report: ReportData) -> None:
    page = render_html(report)
    assert page.count("<svg") == 4
    assert "<script" not in page
    assert not re.search(r"""(src|href)\s*=|@import|url\(""", page)
    assert '<meta name="viewport"' in page
    assert "@media print" in page


def _keys(doc: object, prefix: str = "") -> set[str]:
    if isinstance(doc, dict):
        keys = set()
        for key, value in doc.items():
            keys.add(key)
            keys |= _keys(value)
        return keys
    if isinstance(doc, list) and doc:
        return _keys(doc[0])
    return set()


def test_the_schema_document_names_every_json_key(report: ReportData) -> None:
    doc = report_json(report)
    text = SCHEMA_DOC.read_text()
    version = doc["schema_version"]
    assert f"schema version {version}" in text
    assert f'"schema_version": {version}' in text
    missing = sorted(key for key in _keys(json.loads(json.dumps(doc))) if f"`{key}`" not in text)
    assert not missing, f"docs/report-schema.md does not describe {missing}"


def test_the_planted_values_really_are_in_the_history(ew_home: HomePaths) -> None:
    """Otherwise the leak test above would pass for the wrong reason."""
    seed_week(ew_home)
    db = open_reader(ew_home.database)
    try:
        stored = json.dumps([dict(r) for r in db.query("SELECT * FROM events")])
        stored += json.dumps([dict(r) for r in db.query("SELECT * FROM findings")])
    finally:
        db.conn.close()
    for value in PLANTED:
        assert value in stored

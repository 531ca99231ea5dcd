"""``events`` filters and formats, and the ``db`` maintenance commands, on a real database."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import sqlite3

import pytest
from click.testing import CliRunner

from egress_watch.cli.main import cli
from egress_watch.model import Action, Category, Event, Finding, ProcessInfo, Severity, Source
from egress_watch.paths import HomePaths
from egress_watch.store.writer import EventWriter
from egress_watch.workstation.home import prepare_home


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def finding(category: Category, rule: str, severity: Severity, **extra: object) -> Finding:
    return Finding(category, rule, severity, 0, 10, "ab…yz (12 chars)", "hmac-sha256:" + rule,
                   **extra)  # type: ignore[arg-type]  # fmt: skip


@pytest.fixture
def seeded(ew_home: HomePaths) -> HomePaths:
    prepare_home(ew_home)
    writer = EventWriter(ew_home.database)
    claude = ProcessInfo(41, "claude", repo="/src/app")
    codex = ProcessInfo(42, "node", tool="codex")  # a script run by node: named by its package
    lib_source = Source("/src/lib", "core.py", 10, 40, 0.9)
    events = [
        ("2026-11-01T09:00:00.000000+00:00", "openai", None, ()),
        (
            "2026-11-20T09:00:00.000000+00:00",
            "anthropic",
            claude,
            (finding(Category.SECRET, "aws-access-key", Severity.CRITICAL),),
        ),
        (
            "2026-11-26T09:00:00.000000+00:00",
            "openai",
            codex,
            (finding(Category.PROPRIETARY, "winnow", Severity.HIGH, source=lib_source),),
        ),
        (
            "2026-11-26T10:00:00.000000+00:00",
            "openai",
            codex,
            (finding(Category.PII, "email", Severity.LOW),),
        ),
    ]
    for ts, service, process, findings in events:
        event = Event(ts, service, "f", f"api.{service}.com", "POST", "/v1/x", 100, Action.PASS)
        writer.write(dataclasses.replace(event, findings=findings, process=process))
    writer.close()
    return ew_home


def ids(out: str) -> list[int]:
    return [json.loads(line)["id"] for line in out.splitlines()]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], [4, 3, 2, 1]),
        (["--severity", "high"], [3, 2]),
        (["--category", "proprietary"], [3]),
        (["--service", "anthropic"], [2]),
        (["--process", "codex"], [4, 3]),
        (["--process", "node"], [4, 3]),
        (["--repo", "/src/app"], [2]),
        (["--repo", "/src/lib"], [3]),
        (["--since", "2026-11-20", "--until", "2026-11-26T09:30:00+00:00"], [3, 2]),
        (["--limit", "1"], [4]),
    ],
)
def test_events_filters(seeded: HomePaths, args: list[str], expected: list[int]) -> None:
    code, out, _ = invoke("events", "--json", *args)
    assert code == 0
    assert ids(out) == expected


def test_events_csv_has_a_header_and_one_row_per_event(seeded: HomePaths) -> None:
    code, out, _ = invoke("events", "--csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["id"] for r in rows] == ["4", "3", "2", "1"]
    assert rows[2]["rules"] == "aws-access-key"
    assert rows[2]["process_name"] == "claude"
    assert (rows[0]["process_name"], rows[0]["tool"]) == ("node", "codex")


def test_the_tool_not_its_runtime_is_named_everywhere(seeded: HomePaths) -> None:
    _, out, _ = invoke("events", "--process", "codex")
    assert "[codex]" in out
    assert "[node]" not in out
    _, out, _ = invoke("events", "--json", "--process", "codex")
    assert {json.loads(line)["tool"] for line in out.splitlines()} == {"codex"}
    code, out, _ = invoke(
        "report", "--from", "2026-11-01", "--to", "2026-11-30", "--format", "json"
    )
    assert code == 0
    assert {t["name"] for t in json.loads(out)["tools"]} == {"claude", "codex", "(unknown process)"}


def test_events_text_names_the_process(seeded: HomePaths) -> None:
    _, out, _ = invoke("events", "--process", "claude")
    assert "[claude]" in out
    assert "critical: aws-access-key" in out


def test_json_and_csv_together_is_a_usage_error(seeded: HomePaths) -> None:
    assert invoke("events", "--json", "--csv")[0] == 2


def test_db_path_check_vacuum_migrate(seeded: HomePaths) -> None:
    assert invoke("db", "path")[1].strip() == str(seeded.database)
    code, out, _ = invoke("db", "check")
    assert (code, out.strip()) == (0, "ok: 4 events")
    code, _, err = invoke("db", "vacuum")
    assert code == 0
    assert "bytes" in err
    code, _, err = invoke("db", "migrate")
    assert code == 0
    assert "m008_event_tool" in err


def test_db_check_reports_a_damaged_database(seeded: HomePaths) -> None:
    conn = sqlite3.connect(seeded.database)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    data = bytearray(seeded.database.read_bytes())
    data[page_size * 2 : page_size * 2 + 64] = b"\xff" * 64  # scribble over a b-tree page
    seeded.database.write_bytes(bytes(data))
    code, _, err = invoke("db", "check")
    assert code != 0
    assert err

"""``events --jurisdiction``: requests to services whose operator or parent is in a country."""

from __future__ import annotations

import csv
import io
import json

from click.testing import CliRunner

from egress_watch.cli.main import cli
from egress_watch.model import Action, Event
from egress_watch.paths import HomePaths
from egress_watch.store.writer import EventWriter
from egress_watch.workstation.home import prepare_home


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def seed(paths: HomePaths) -> None:
    prepare_home(paths)
    writer = EventWriter(paths.database)
    try:
        for host, codes, region in (
            ("dashscope-intl.aliyuncs.com", ("SG", "CN"), "SG"),
            ("api.kimi.com", ("CN?",), "unknown"),
            ("api.openai.com", ("US",), "global"),
            ("api.anthropic.com", (), None),
        ):
            writer.write(
                Event("2026-12-01T10:00:00.000000+00:00", "svc", "openai-chat", host, "POST",
                      "/v1/chat/completions", 10, Action.PASS, jurisdictions=codes, region=region)
            )  # fmt: skip
    finally:
        writer.close()


def test_events_filter_by_operator_or_parent_country(ew_home: HomePaths) -> None:
    seed(ew_home)
    code, out, _ = invoke("events", "--jurisdiction", "cn", "--json")
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(r["host"], r["jurisdictions"], r["region"]) for r in rows] == [
        ("api.kimi.com", ["CN?"], "unknown"),  # unconfirmed, still listed (and marked)
        ("dashscope-intl.aliyuncs.com", ["SG", "CN"], "SG"),
    ]
    code, out, _ = invoke("events", "--jurisdiction", "SG", "--csv")
    table = list(csv.DictReader(io.StringIO(out)))
    assert [(r["host"], r["jurisdictions"], r["region"]) for r in table] == [
        ("dashscope-intl.aliyuncs.com", "SG CN", "SG")
    ]


def test_a_bad_country_code_is_a_usage_error(ew_home: HomePaths) -> None:
    seed(ew_home)
    code, _, err = invoke("events", "--jurisdiction", "China")
    assert code == 2
    assert "--jurisdiction: expected a two-letter country code" in err


def test_report_has_where_it_went_even_with_a_bad_config(ew_home: HomePaths) -> None:
    seed(ew_home)
    args = ("report", "--from", "2026-12-01", "--to", "2026-12-01", "--format", "json")
    code, out, _ = invoke(*args)
    assert code == 0
    places = json.loads(out)["where_it_went"]["jurisdictions"]
    assert [(p["name"], p["requests"], p["unconfirmed"]) for p in places] == [
        ("CN", 2, 1),
        ("SG", 1, 0),
        ("US", 1, 0),
        ("unknown", 1, 0),
    ]
    ew_home.config.write_text('[policy]\ntraining = "sometimes"\n')
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0
    assert "policy.training" in result.stderr
    assert "where_it_went" in json.loads(result.stdout)

"""``egress-watch demo`` through the real running proxy: a test event, shown, never reported."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from egress_watch.cli.main import cli
from egress_watch.workstation.demo import DEMO_SERVICE, demo_key
from tests.integration.conftest import RunningProxy

pytestmark = pytest.mark.slow


def test_demo_sends_a_fake_key_through_the_proxy_and_reports_leave_it_out(
    running_proxy: RunningProxy,
) -> None:
    result = running_proxy.cli("demo")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "recorded event" in result.stdout
    assert "a test event" in result.stdout
    assert demo_key() not in result.stdout + result.stderr
    demo = [e for e in running_proxy.events() if e["service"] == DEMO_SERVICE]
    assert len(demo) == 1
    assert [f["rule"] for f in demo[0]["findings"]] == ["aws-access-key"]  # type: ignore[union-attr]
    assert running_proxy.upstream.requests == []  # nothing left the machine
    report = running_proxy.cli("report", "--format", "json")
    assert report.returncode == 0, report.stderr
    doc = json.loads(report.stdout)
    assert doc["totals"]["requests"] == 0
    assert doc["secrets"] == []
    assert DEMO_SERVICE not in report.stdout


@pytest.mark.usefixtures("ew_home")
def test_demo_without_a_running_proxy_says_how_to_start_it() -> None:
    result = CliRunner().invoke(cli, ["demo"])
    assert result.exit_code != 0
    assert "egress-watch start" in result.stderr
    assert result.stdout == ""

"""The CLI contract: exit codes, JSON shapes, --home, clear errors, documented commands."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from egress_watch.cli.main import cli
from egress_watch.model import Action, Event
from egress_watch.paths import HomePaths
from egress_watch.store.writer import EventWriter
from tests.conftest import fake_aws_key_id

README = Path(__file__).parents[2] / "README.md"


def invoke(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_every_command_has_help_and_is_in_the_readme() -> None:
    readme = README.read_text()
    context = click.Context(cli)
    names = cli.list_commands(context)
    assert {"index", "scan", "start", "status", "report"} <= set(names)
    for name in names:
        command = cli.get_command(context, name)
        assert command is not None, f"{name} is listed but cannot be loaded"
        assert command.name == name
        assert command.help, f"{name} has no help text"
        assert f"egress-watch {name}" in readme, f"{name} is not documented in README.md"


def test_scan_clean_text_exits_0() -> None:
    code, out, _ = invoke("scan", "--json", "-", input="def add(a, b):\n    return a + b\n")
    assert code == 0
    assert json.loads(out) == {"path": "-", "findings": []}


def test_scan_json_contract_with_offsets(tmp_path: Path) -> None:
    key = fake_aws_key_id()
    text = f"line one\naws_access_key_id = {key}\n"
    target = tmp_path / "notes.txt"
    target.write_text(text)
    code, out, _ = invoke("scan", "--json", str(target))
    assert code == 1
    document = json.loads(out)
    assert document["path"] == str(target)
    finding = next(f for f in document["findings"] if f["rule"] == "aws-access-key")
    assert set(finding) == {
        "category", "rule", "severity", "start", "end", "masked", "fingerprint",
        "confidence", "reason",
    }  # fmt: skip
    assert text[finding["start"] : finding["end"]] == key
    assert finding["category"] == "secret"
    assert finding["severity"] == "critical"
    assert key not in out


def test_scan_text_output_names_file_and_line(tmp_path: Path) -> None:
    target = tmp_path / "a.env"
    target.write_text(f"\n\nAWS_KEY={fake_aws_key_id()}\n")
    code, out, _ = invoke("scan", str(target))
    assert code == 1
    assert f"{target}:3: critical secret/aws-access-key" in out
    assert fake_aws_key_id() not in out


def test_scan_fingerprint_is_stable_for_one_home_and_differs_across_homes(tmp_path: Path) -> None:
    text = f"k={fake_aws_key_id()}"

    def fingerprint(home: Path) -> str:
        _, out, _ = invoke("--home", str(home), "scan", "--json", "-", input=text)
        return str(json.loads(out)["findings"][0]["fingerprint"])

    assert fingerprint(tmp_path / "a") == fingerprint(tmp_path / "a")
    assert fingerprint(tmp_path / "a") != fingerprint(tmp_path / "b")


def test_scan_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = invoke("scan", str(tmp_path / "nope.txt"))
    assert code == 2
    assert "cannot read" in err


def test_home_flag_on_the_command_wins(tmp_path: Path, ew_home: HomePaths) -> None:
    invoke("scan", "--home", str(tmp_path / "flag-home"), "-", input="x")
    assert (tmp_path / "flag-home" / "config.toml").exists()
    assert not ew_home.config.exists()


def test_bad_config_is_a_usage_error_naming_file_and_key(ew_home: HomePaths) -> None:
    ew_home.home.mkdir(parents=True)
    ew_home.config.write_text("[proxy]\nlisten_port = 'eighty'\n")
    code, _, err = invoke("start", "--foreground")
    assert code == 2
    assert str(ew_home.config) in err
    assert "proxy.listen_port" in err


def test_config_that_is_not_utf8_names_file_line_and_key(ew_home: HomePaths) -> None:
    ew_home.home.mkdir(parents=True)
    ew_home.config.write_bytes(b'[proxy]\nmode = "monitor"\n[markers]\nwords = ["Caf\xe9"]\n')
    for command in (("start", "--foreground"), ("services",), ("scan", "-")):
        code, _, err = invoke(*command, input="x")
        assert code == 2, (command, err)
        assert f"{ew_home.config}: key markers.words, line 4" in err
        assert "not UTF-8" in err
        assert "Traceback" not in err


def test_port_in_use_names_the_holder() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        code, _, err = invoke("start", "--foreground", "--listen-port", str(port))
    assert code == 1
    assert f"port {port} on 127.0.0.1 is already in use" in err
    assert re.search(r"by .*\(pid \d+\)", err)


def test_status_when_not_running() -> None:
    code, out, _ = invoke("status", "--json")
    assert code == 3
    assert json.loads(out)["running"] is False


def test_events_lists_json_lines_with_filters(ew_home: HomePaths) -> None:
    from egress_watch.workstation.home import prepare_home

    prepare_home(ew_home)
    writer = EventWriter(ew_home.database)
    for service in ("openai", "anthropic"):
        writer.write(
            Event(
                "2026-01-05T10:00:00.000000+00:00",
                service,
                "f",
                f"api.{service}.com",
                "POST",
                "/v1/x",
                10,
                Action.PASS,
            )
        )
    writer.close()
    code, out, _ = invoke("events", "--json")
    assert code == 0
    assert [json.loads(line)["service"] for line in out.splitlines()] == ["anthropic", "openai"]
    _, out, _ = invoke("events", "--json", "--service", "openai")
    assert [json.loads(line)["service"] for line in out.splitlines()] == ["openai"]
    _, out, _ = invoke("events", "--since", "1h")
    assert out == ""  # both events are older than an hour


def test_events_bad_since_is_a_usage_error() -> None:
    from egress_watch.paths import HomePaths, resolve_home
    from egress_watch.workstation.home import prepare_home

    prepare_home(HomePaths(resolve_home()))
    code, _, err = invoke("events", "--since", "last tuesday")
    assert code == 2
    assert "--since" in err


@pytest.mark.parametrize("as_json", [True, False])
def test_services_lists_the_catalog(as_json: bool) -> None:
    code, out, _ = invoke("services", *(["--json"] if as_json else []))
    assert code == 0
    if as_json:
        ids = [s["id"] for s in json.loads(out)]
        assert {"openai", "anthropic"} <= set(ids)
    else:
        assert "api.openai.com" in out

"""Trust: the combined bundle, system-store command lines, VS Code settings, trust/untrust CLI."""

from __future__ import annotations

import json
import ssl
from pathlib import Path

import pytest
from click.testing import CliRunner

from egress_watch.cli.main import cli
from egress_watch.paths import HomePaths
from egress_watch.workstation import trust
from egress_watch.workstation.ca import CaFiles, stored_domains

A = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
B = "-----BEGIN CERTIFICATE-----\nBBBB\n-----END CERTIFICATE-----\n"
OURS = "-----BEGIN CERTIFICATE-----\nOURS\n-----END CERTIFICATE-----\n"
OLD = "-----BEGIN CERTIFICATE-----\nOLD0\n-----END CERTIFICATE-----\n"


def test_combined_bundle_keeps_system_cas_and_puts_ours_last_once() -> None:
    combined = trust.combine_bundle(f"# comment\n{A}\n{B}{OURS}", OURS, [A.replace("AAAA", "X")])
    assert trust.pem_blocks(combined) == [A, B, OURS]


def test_a_previous_ca_of_ours_is_dropped_when_the_ca_changes() -> None:
    combined = trust.combine_bundle(A + OLD, OURS, [A + OLD])  # old bundle held A and OLD
    assert trust.pem_blocks(combined) == [OURS]


@pytest.mark.parametrize(
    ("platform", "root", "expected"),
    [
        ("linux", True, [
            ["install", "-D", "-m", "0644", "/h/ca.pem",
             "/usr/local/share/ca-certificates/egress-watch.crt"],
            ["update-ca-certificates"],
        ]),
        ("linux", False, [
            ["sudo", "install", "-D", "-m", "0644", "/h/ca.pem",
             "/usr/local/share/ca-certificates/egress-watch.crt"],
            ["sudo", "update-ca-certificates"],
        ]),
        ("darwin", False, [
            ["sudo", "security", "add-trusted-cert", "-d", "-r", "trustRoot", "-k",
             "/Library/Keychains/System.keychain", "/h/ca.pem"],
        ]),
    ],
)  # fmt: skip
def test_system_trust_commands(platform: str, root: bool, expected: list[list[str]]) -> None:
    plan = trust.system_trust_plan(platform, Path("/h/ca.pem"), root)
    assert [list(c) for c in plan.commands] == expected
    assert plan.sudo is not root


def test_untrust_reverses_the_linux_anchor() -> None:
    plan = trust.system_untrust_plan("linux", Path("/h/ca.pem"), False)
    assert [list(c) for c in plan.commands] == [
        ["sudo", "rm", "-f", "/usr/local/share/ca-certificates/egress-watch.crt"],
        ["sudo", "update-ca-certificates", "--fresh"],
    ]


def test_unsupported_platform_points_to_bundle_only() -> None:
    with pytest.raises(trust.TrustError, match="--bundle-only"):
        trust.system_trust_plan("win32", Path("c.pem"), False)


def invoke(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_trust_bundle_only_then_untrust(ew_home: HomePaths, tmp_path: Path) -> None:
    settings = tmp_path / "vscode" / "settings.json"
    settings.parent.mkdir()
    settings.write_text(json.dumps({"editor.fontSize": 13}))
    code, out, err = invoke(
        "trust", "--bundle-only", "--vscode", "--vscode-settings", str(settings)
    )
    assert code == 0, err
    assert stored_domains(CaFiles(ew_home.confdir)) is not None  # trust made the CA
    bundle = trust.bundle_path(ew_home)
    # The bundle is usable as a whole trust store: it holds the system roots and ours.
    ssl.create_default_context(cafile=bundle)
    ours = trust.pem_blocks(ew_home.ca_cert.read_text())
    system = trust.system_bundle_file()
    assert system is not None
    blocks = trust.pem_blocks(bundle.read_text())
    assert blocks[-1:] == ours
    assert len(blocks) == len(trust.pem_blocks(system.read_text())) + 1
    assert json.loads(out)["http.proxySupport"] == "override"
    written = json.loads(settings.read_text())
    assert written["editor.fontSize"] == 13
    assert written["http.proxy"] == "http://127.0.0.1:8080"
    code, _, err = invoke("untrust")
    assert code == 0, err
    assert not bundle.exists()
    assert json.loads(settings.read_text()) == {"editor.fontSize": 13}


def test_trust_asks_before_sudo_and_runs_nothing_when_declined(
    ew_home: HomePaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As a non-root user on Linux; run_plan is replaced so nothing can touch the real store."""
    import egress_watch.cli.trust as command

    ran: list[object] = []
    monkeypatch.setattr(command, "is_root", lambda: False)
    monkeypatch.setattr(command, "current_platform", lambda: "linux")
    monkeypatch.setattr(command, "run_plan", ran.append)
    code, _, err = invoke("trust", input="n\n")
    assert code == 1
    assert "sudo update-ca-certificates" in err
    assert "system store left unchanged" in err
    assert ran == []

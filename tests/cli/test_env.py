"""``egress-watch env`` never prints a variable pointing at a missing file: TLS keeps working."""

from __future__ import annotations

import os
import ssl
from pathlib import Path

import pytest
from click.testing import CliRunner

from egress_watch.cli.main import cli
from egress_watch.paths import HomePaths
from egress_watch.workstation import trust

PATH_VARIABLES = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NODE_EXTRA_CA_CERTS")


def exported(out: str) -> dict[str, str]:
    """``export NAME=value;`` lines (bash syntax) as a mapping."""
    found = {}
    for line in out.splitlines():
        if line.startswith("export ") and "=" in line:
            name, _, value = line.removeprefix("export ").partition("=")
            found[name] = value.rstrip(";").strip("'\"")
    return found


def test_env_before_trust_writes_a_working_bundle(ew_home: HomePaths) -> None:
    result = CliRunner().invoke(cli, ["env", "--shell", "bash"])
    assert result.exit_code == 0, result.stderr
    variables = exported(result.stdout)
    assert set(PATH_VARIABLES) <= set(variables)
    for name in PATH_VARIABLES:
        assert Path(variables[name]).is_file(), name
    # the bundle holds the system CAs and ours: a real TLS context loads all of them
    context = ssl.create_default_context(cafile=variables["SSL_CERT_FILE"])
    subjects = [dict(x[0] for x in c["subject"]) for c in context.get_ca_certs()]
    assert len(subjects) > 10
    assert any("egress-watch" in str(s.get("commonName", "")) for s in subjects)
    assert "wrote" in result.stderr


def test_env_rewrites_a_bundle_older_than_the_ca(ew_home: HomePaths) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["env", "--shell", "bash"]).exit_code == 0
    bundle = Path(exported(runner.invoke(cli, ["env", "--shell", "bash"]).stdout)["SSL_CERT_FILE"])
    bundle.write_text("stale\n")
    os.utime(bundle, (1, 1))
    result = runner.invoke(cli, ["env", "--shell", "bash"])
    assert result.exit_code == 0
    assert "BEGIN CERTIFICATE" in bundle.read_text()


def test_env_without_any_system_bundle_fails_with_the_fix(
    ew_home: HomePaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A machine with no CA bundle at all: nothing on stdout, so ``eval`` changes nothing."""
    monkeypatch.setattr(trust, "SYSTEM_BUNDLE_CANDIDATES", ())
    monkeypatch.setattr(trust.ssl, "get_default_verify_paths", lambda: _NoDefault())
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    result = CliRunner().invoke(cli, ["env", "--shell", "bash"])
    assert result.exit_code != 0
    assert result.stdout == ""
    assert "Fix:" in result.stderr
    assert "trust --bundle-only" in result.stderr


class _NoDefault:
    openssl_cafile = None

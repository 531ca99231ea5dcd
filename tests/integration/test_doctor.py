"""``doctor`` against a live daemon: the user's path passes, each broken piece fails with a fix."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from collections.abc import Iterator

import pytest

from egress_watch.paths import HomePaths
from tests.support.servers import free_port

pytestmark = pytest.mark.slow

CA_VARS = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NODE_EXTRA_CA_CERTS")
PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")


def ew(home: HomePaths) -> str:
    return f"{shlex.quote(sys.executable)} -m egress_watch --home {shlex.quote(str(home.home))}"


def clean_env() -> dict[str, str]:
    """The test runner's environment minus anything a previous shell set for a proxy or CA."""
    return {k: v for k, v in os.environ.items() if k not in CA_VARS + PROXY_VARS}


def run_shell(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120,
                          check=False, env=clean_env())  # fmt: skip


@pytest.fixture
def daemon(ew_home: HomePaths) -> Iterator[int]:
    port = free_port()
    started = run_shell(f"{ew(ew_home)} start --listen-port {port}")
    assert started.returncode == 0, started.stderr
    try:
        yield port
    finally:
        run_shell(f"{ew(ew_home)} stop")


def doctor_after(home: HomePaths, setup: str) -> tuple[int, dict[str, dict[str, object]]]:
    result = run_shell(f"{setup}\n{ew(home)} doctor --json")
    document = json.loads(result.stdout)
    assert document["ok"] is (result.returncode == 0)
    return result.returncode, {c["name"]: c for c in document["checks"]}


def test_the_users_path_trust_env_doctor_passes(ew_home: HomePaths, daemon: int) -> None:
    code, checks = doctor_after(
        ew_home, f'{ew(ew_home)} trust --bundle-only && eval "$({ew(ew_home)} env --shell bash)"'
    )
    assert code == 0, checks
    assert str(daemon) in str(checks["proxy-env"]["detail"])
    for runtime in ("python", "curl", "node"):
        check = checks[f"canary-{runtime}"]
        if check["skipped"]:
            continue  # that runtime is not installed here
        assert check["ok"], check


def test_without_the_variables_every_runtime_fails_with_its_fix(
    ew_home: HomePaths, daemon: int
) -> None:
    code, checks = doctor_after(ew_home, f"{ew(ew_home)} trust --bundle-only >/dev/null 2>&1")
    assert code == 1
    assert not checks["proxy-env"]["ok"]
    assert "egress-watch env" in str(checks["proxy-env"]["fix"])
    assert not checks["env-NODE_EXTRA_CA_CERTS"]["ok"]
    # The system store does not hold our CA, so no runtime may accept the intercepted canary.
    for runtime in ("python", "curl", "node"):
        check = checks[f"canary-{runtime}"]
        if not check["skipped"]:
            assert not check["ok"], check
            assert "egress-watch" in str(check["fix"])


def test_a_stopped_daemon_fails_with_the_start_command(ew_home: HomePaths) -> None:
    code, checks = doctor_after(ew_home, "true")
    assert code == 1
    assert checks["daemon"]["ok"] is False
    assert "egress-watch start" in str(checks["daemon"]["fix"])
    assert not any(name.startswith("canary-") for name in checks)


def test_text_output_prints_a_fix_under_each_failure(ew_home: HomePaths) -> None:
    result = run_shell(f"{ew(ew_home)} doctor")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("FAIL"):
            assert lines[i + 1].strip().startswith("fix: "), result.stdout
    assert lines[-1].endswith("check(s) failed")


def test_a_new_ca_makes_the_earlier_trust_stale(ew_home: HomePaths, daemon: int) -> None:
    from egress_watch.workstation.ca import CaFiles

    setup = f"{ew(ew_home)} trust --bundle-only >/dev/null 2>&1"
    assert doctor_after(ew_home, setup)[1]["ca-trusted"]["ok"]
    CaFiles(ew_home.confdir).meta.unlink()  # next start treats the CA as foreign: a new one
    run_shell(f"{ew(ew_home)} stop")
    assert run_shell(f"{ew(ew_home)} start --listen-port {daemon}").returncode == 0
    code, checks = doctor_after(ew_home, "true")
    assert code == 1
    assert checks["ca-trusted"]["ok"] is False
    assert checks["ca-trusted"]["fix"] == "egress-watch trust"

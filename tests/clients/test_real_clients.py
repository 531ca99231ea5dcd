"""The real Claude Code, Qwen Code, Gemini CLI and Codex CLI through the real proxy.

Each CLI (pinned in tests/clients/package.json, installed by .ci/run) runs non-interactively in
a clean HOME with the variables ``egress-watch env`` prints, against the fake model of
``fake_model.py`` behind a local HTTPS upstream: the model answers the first turn with a tool
call reading ``config/deploy.ini``, which holds a planted AWS key pair; the prompt names the
key id too. In redact and block mode each test checks the event, its service and tool, the
findings in the prompt and in the tool result (with the file path), what the client printed and
what the upstream received. The eight runs go in parallel (EGRESS_WATCH_CLIENT_JOBS).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from egress_watch.paths import HomePaths
from tests.clients.conftest import client_bin, missing_reason
from tests.clients.fake_model import DONE_TEXT, FakeModel
from tests.conftest import fake_aws_key_id, fake_aws_secret
from tests.integration.conftest import start_proxy
from tests.support.servers import ConnectProxy, UpstreamServer, make_test_ca

pytestmark = pytest.mark.slow

MODES = ("redact", "block")
"""Redact records every finding as monitor would and also shows the rewrite; block the answer."""
PLANTED = "config/deploy.ini"
"""Not ``.env``: Gemini CLI refuses to read a ``.env`` file (hasBlockedPathSegment)."""
RUN_TIMEOUT = 150
JOBS = int(os.environ.get("EGRESS_WATCH_CLIENT_JOBS", "4"))


def fake_key() -> str:
    return "-".join(["fake", "test", "key"])


@dataclass(frozen=True)
class Client:
    """How one CLI is started headless, and which service its requests reach."""

    name: str
    service: str
    argv: Callable[[str], list[str]]
    env: dict[str, str] = field(default_factory=dict)
    settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Files under HOME (relative path -> JSON content) the CLI needs to run headless."""


CLIENTS = {
    "claude": Client(
        "claude", "anthropic",
        lambda prompt: ["-p", prompt, "--allowedTools", "Read", "--model", "claude-sonnet-4-5"],
        {"ANTHROPIC_API_KEY": fake_key(), "DISABLE_AUTOUPDATER": "1",
         "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1"},
    ),
    "qwen": Client(
        "qwen", "dashscope", lambda prompt: ["-p", prompt, "--yolo"],
        {"OPENAI_API_KEY": fake_key(), "OPENAI_MODEL": "qwen3-coder-plus",
         "OPENAI_BASE_URL": "https://dashscope.aliyuncs.com/compatible-mode/v1",
         "QWEN_CODE_SUPPRESS_YOLO_WARNING": "1"},
        {".qwen/settings.json": {"security": {"auth": {"selectedType": "openai"}}}},
    ),
    "gemini": Client(
        "gemini", "gemini",
        lambda prompt: ["-p", prompt, "--yolo", "-m", "gemini-2.5-flash"],
        {"GEMINI_API_KEY": fake_key(), "GEMINI_CLI_TRUST_WORKSPACE": "true"},
        {".gemini/settings.json": {"security": {"auth": {"selectedType": "gemini-api-key"}}}},
    ),
    "codex": Client(
        "codex", "openai",
        lambda prompt: ["exec", "--skip-git-repo-check",
                        "--dangerously-bypass-approvals-and-sandbox", "-m", "gpt-5-codex",
                        prompt],
        {"OPENAI_API_KEY": fake_key()},
    ),
}  # fmt: skip


@dataclass
class Run:
    """What one client did in one mode."""

    client: str
    mode: str
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    events: list[dict[str, Any]]
    upstream_bodies: list[str]
    model: FakeModel
    planted: Path

    @property
    def printed(self) -> str:
        return self.stdout + self.stderr

    def findings(self) -> list[dict[str, Any]]:
        return [f for e in self.events for f in e.get("findings") or ()]


def run_client(client: Client, binary: Path, mode: str, root: Path) -> Run:
    """One CLI, one prompt, in a fresh data home behind a fresh proxy and fake model."""
    root.mkdir(parents=True)
    project, home = root / "project", root / "home"
    (project / "config").mkdir(parents=True)
    (home / ".codex").mkdir(parents=True)
    planted = project / PLANTED
    planted.write_text(
        f"[aws]\naws_access_key_id = {fake_aws_key_id()}\n"
        f"aws_secret_access_key = {fake_aws_secret()}\n"
    )
    for relative, content in client.settings.items():
        (home / relative).parent.mkdir(parents=True, exist_ok=True)
        (home / relative).write_text(json.dumps(content))
    ew_home = HomePaths(root / "ew-home")
    model = FakeModel(str(planted))
    ca = make_test_ca(root / "test-ca")
    prompt = f"Our deploy uses AWS key {fake_aws_key_id()}. Read {PLANTED} and say what it holds."
    with (
        UpstreamServer(ca, respond=model) as upstream,
        ConnectProxy(("127.0.0.1", upstream.port)) as tunnel,
        start_proxy(root, ca, ew_home, "--mode", mode, upstream=tunnel) as proxy,
    ):
        variables = proxy.cli("env", "--shell", "bash")
        assert variables.returncode == 0, variables.stderr
        env = {
            "PATH": os.environ["PATH"], "HOME": str(home), "TERM": "dumb", "CI": "1",
            "CODEX_HOME": str(home / ".codex"),
            **_exports(variables.stdout), **client.env,
        }  # fmt: skip
        started = time.monotonic()
        try:
            done = subprocess.run(
                [str(binary), *client.argv(prompt)], cwd=project, env=env, capture_output=True,
                text=True, timeout=RUN_TIMEOUT, check=False, stdin=subprocess.DEVNULL,
            )  # fmt: skip
            code, out, err = done.returncode, done.stdout, done.stderr
        except subprocess.TimeoutExpired as error:
            code, out, err = -1, str(error.stdout or ""), f"timed out: {error.stderr!r}"
        seconds = time.monotonic() - started
        events = [e for e in proxy.events() if e.get("service") == client.service]
        bodies = [r.body.decode("utf-8", "replace") for r in upstream.requests]
    return Run(client.name, mode, code, out, err, seconds, events, bodies, model, planted)


def _exports(text: str) -> dict[str, str]:
    """``export NAME=value;`` lines of ``egress-watch env --shell bash``."""
    found = {}
    for line in text.splitlines():
        if line.startswith("export ") and "=" in line:
            name, _, value = line.removeprefix("export ").partition("=")
            found[name] = value.rstrip(";").strip("'\"")
    return found


@pytest.fixture(scope="session")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Run]:
    """Every installed client in every mode, run once, in parallel."""
    jobs = {
        (name, mode): binary
        for name, client in CLIENTS.items()
        if (binary := client_bin(name)) is not None
        for mode in MODES
    }
    root = tmp_path_factory.mktemp("clients")
    with ThreadPoolExecutor(max_workers=max(JOBS, 1)) as pool:
        futures = {
            key: pool.submit(run_client, CLIENTS[key[0]], binary, key[1], root / "-".join(key))
            for key, binary in jobs.items()
        }
        results = {key: future.result() for key, future in futures.items()}
    summary = Path(os.environ.get("EGRESS_WATCH_CLIENTS_SUMMARY") or root / "summary.json")
    summary.write_text(json.dumps([
        {"client": r.client, "mode": r.mode, "returncode": r.returncode,
         "seconds": round(r.seconds, 1), "printed": r.printed[-600:]}
        for r in results.values()], indent=2))  # fmt: skip
    return results


def _run(runs: dict[tuple[str, str], Run], name: str, mode: str) -> Run:
    if (name, mode) not in runs:
        pytest.skip(missing_reason(name))
    return runs[name, mode]


def _context(run: Run) -> str:
    return f"{run.client}/{run.mode} exited {run.returncode}:\n{run.printed[-3000:]}"


@pytest.mark.timeout(900)
@pytest.mark.parametrize("name", list(CLIENTS))
def test_redact_records_prompt_and_file_keeps_values_from_the_upstream_and_the_tool_works(
    runs: dict[tuple[str, str], Run], name: str
) -> None:
    run = _run(runs, name, "redact")
    assert run.returncode == 0, _context(run)
    assert DONE_TEXT in run.stdout, _context(run)  # the tool kept working
    assert run.events, f"no {CLIENTS[name].service} event"
    assert {e["tool"] for e in run.events} == {name}  # the tool, not its runtime
    assert "redact" in {e["action"] for e in run.events}
    found = {(f["rule"], f["role"], f.get("path_hint")) for f in run.findings()}
    assert ("aws-access-key", "user", None) in found  # the prompt
    read = {(rule, hint) for rule, role, hint in found if role == "tool_result"}
    # Codex over its WebSocket sends only the call's output: the proxy remembers the file the
    # server-announced call named (per connection)
    assert ("aws-secret-key", str(run.planted)) in read, found  # the file, with its path
    assert run.model.calls, "the model never asked for the file"
    for body in run.upstream_bodies:  # HTTP bodies and WebSocket messages
        assert fake_aws_key_id() not in body
        assert fake_aws_secret() not in body
    assert "[REDACTED:aws-secret-key:" in "".join(run.model.tool_results)
    if name == "codex":
        assert run.model.websocket_turns >= 2, "Codex did not use the Responses WebSocket"


@pytest.mark.timeout(900)
@pytest.mark.parametrize("name", list(CLIENTS))
def test_block_shows_the_reason_and_nothing_reaches_the_upstream(
    runs: dict[tuple[str, str], Run], name: str
) -> None:
    run = _run(runs, name, "block")
    for body in run.upstream_bodies:
        assert fake_aws_key_id() not in body
    assert "egress-watch blocked this request" in run.printed, _context(run)
    assert "egress-watch allow" in run.printed, _context(run)
    assert "Failed to authenticate" not in run.printed
    assert "block" in {e["action"] for e in run.events}
    assert {e["tool"] for e in run.events} == {name}
    assert not run.model.calls  # the model never saw the prompt

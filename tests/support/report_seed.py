"""A known week of history for the report tests, with secret values planted where a careless
report could leak them from (command line, working directory, path query, error text, finding
reason, path hint). The counts every format must show are in ``EXPECTED``.

The week is 2026-11-16 00:00 to 2026-11-23 00:00 UTC; the previous week is the one before it.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from dataclasses import dataclass

from egress_watch.masking import fingerprint, mask
from egress_watch.model import (
    Action,
    Category,
    Event,
    Finding,
    HostSighting,
    ProcessInfo,
    Severity,
    Source,
)
from egress_watch.paths import HomePaths
from egress_watch.store.writer import EventWriter
from egress_watch.workstation.home import prepare_home
from tests.conftest import fake_aws_key_id

WEEK = ("2026-11-16T00:00:00+00:00", "2026-11-23T00:00:00+00:00")
KEY = b"report-test-key-" * 2


def fake_openai_key() -> str:
    return "sk-" + "proj-" + "Qm7Lw2Zp9Xc4Vb8N" + "k3Jh6Gf1Ds5Ay0Tr" + "Ue2Wi7Oq"


def fake_github_token() -> str:
    return "gh" + "p_" + "R8tY2uI5oP1aS4dF" + "7gH0jK3lZ6xC9vB2" + "nM5q"


def fake_slack_token() -> str:
    return "xo" + "xb-" + "482915736024" + "-" + "9381726450193" + "-" + "Pq7Rs2Tu5Vw8Xy1Za4Bc"


def fake_password() -> str:
    return "Corr" + "ect-H0rse-" + "Batt3ry-St4ple"


PLANTED = (fake_aws_key_id(), fake_openai_key(), fake_github_token(), fake_slack_token(),
           fake_password())  # fmt: skip
"""Raw values that must never appear in any format."""


def secret(rule: str, value: str, severity: Severity = Severity.CRITICAL) -> Finding:
    return Finding(
        Category.SECRET, rule, severity, 0, len(value), mask(value), fingerprint(KEY, value),
        # a careless renderer printing these would leak the value:
        reason=f"matched {value}", path_hint=f"/home/dev/.env?{value}",
    )  # fmt: skip


def other(category: Category, rule: str, severity: Severity, value: str) -> Finding:
    return Finding(category, rule, severity, 0, len(value), mask(value), fingerprint(KEY, value))


def code(repo: str, path: str, start: int, end: int) -> Finding:
    value = f"{repo}/{path}:{start}-{end}"
    return Finding(
        Category.PROPRIETARY, "winnow", Severity.HIGH, 0, 10, f"{path} lines {start}-{end}",
        fingerprint(KEY, value), source=Source(repo, path, start, end, 0.9),
    )  # fmt: skip


S1 = secret("aws-access-key", fake_aws_key_id())
S2 = secret("openai-project-key", fake_openai_key())
S3 = secret("github-token", fake_github_token())
S4 = secret("slack-bot-token", fake_slack_token(), Severity.HIGH)
S5 = secret("password-assignment", fake_password())
EMAIL = other(Category.PII, "email", Severity.LOW, "dev" + "@" + "example.org")
INFRA = other(Category.INFRA, "internal-host", Severity.MEDIUM, "build01.corp.internal")

CLAUDE = ProcessInfo(
    41, "claude", exe="/usr/bin/node",
    cmdline=f"claude --api-key {fake_openai_key()} Authorization: Bearer {fake_aws_key_id()}",
    parents=(f"bash -c export TOKEN={fake_github_token()}",), cwd=f"/src/{fake_slack_token()}",
    repo="/src/app",
)  # fmt: skip
CODEX = ProcessInfo(42, "codex", cmdline=f"codex --password {fake_password()}")
CURSOR = ProcessInfo(43, "cursor")


@dataclass(frozen=True, slots=True)
class Row:
    ts: str
    service: str
    bytes_out: int
    process: ProcessInfo | None
    findings: tuple[Finding, ...] = ()
    action: Action = Action.PASS
    uninspected: str | None = None
    acked: bool = False
    error: str | None = None


ROWS = (
    # the previous week
    Row("2026-11-10T09:00:00", "anthropic", 2000, CLAUDE, (S1,)),
    Row("2026-11-12T09:00:00", "openai", 1000, CODEX),
    Row("2026-11-15T23:59:59", "openai", 1500, CODEX),
    # the week
    Row("2026-11-16T09:00:00", "anthropic", 4000, CLAUDE, (S1,),
        error=f"upstream 401 for key {fake_aws_key_id()}"),
    Row("2026-11-17T10:00:00", "anthropic", 6000, CLAUDE,
        (S1, code("/src/app", "main.py", 100, 119), S2)),
    Row("2026-11-17T11:00:00", "openai", 3000, CODEX, (S2,), Action.REDACT, acked=True),
    Row("2026-11-18T12:00:00", "openai", 2000, CURSOR, (S3,), Action.BLOCK, acked=True),
    Row("2026-11-19T09:00:00", "openai", 8000, CODEX,
        (code("/src/lib", "core.py", 10, 40), code("/src/lib", "core.py", 30, 50), S4)),
    Row("2026-11-19T15:00:00", "anthropic", 5000, CLAUDE,
        (code("/src/lib", "util.py", 1, 5), EMAIL)),
    Row("2026-11-20T16:00:00", "openai", 1000, None, (EMAIL, INFRA)),
    Row("2026-11-21T08:00:00", "gemini", 7 * 1024 * 1024, CURSOR, uninspected="body too large"),
    Row("2026-11-21T09:00:00", "gemini", 1000, CURSOR, uninspected="unknown content-encoding"),
    Row("2026-11-22T23:59:00", "openai", 500, CODEX),
    # the next week starts at the window's end: not counted
    Row("2026-11-23T00:00:00", "openai", 900, CODEX, (S5,)),
)  # fmt: skip

HOSTS = (
    ("llm.gpu-lab.example", "2026-11-18T10:00:00", True, "cursor"),
    ("llm.gpu-lab.example", "2026-11-19T10:00:00", True, "cursor"),
    ("llm.gpu-lab.example", "2026-11-20T10:00:00", True, "cursor"),
    ("api.tinyai.example", "2026-11-12T10:00:00", True, "codex"),
    ("api.tinyai.example", "2026-11-17T10:00:00", True, "codex"),
    ("old-ai.example", "2026-11-11T10:00:00", True, "claude"),
    ("pypi.org", "2026-11-17T10:00:00", False, "pip"),
)

EXPECTED = {
    "totals": {
        # the blocked request's 2000 bytes never left; its github token is stopped, not exposed
        "requests": 10, "bytes_out": 28_500 + 7 * 1024 * 1024, "findings": 13, "secrets": 3,
        "new_secrets": 2, "open_critical": 2, "redacted": 1, "blocked": 1, "not_sent": 0,
        "stopped": 1, "uninspected": 2, "errors": 1, "repositories": 2, "shadow_hosts": 2,
    },
    "previous_totals": {
        "requests": 3, "bytes_out": 4500, "findings": 1, "secrets": 1, "new_secrets": 1,
        "open_critical": 1, "redacted": 0, "blocked": 0, "not_sent": 0, "stopped": 0,
        "uninspected": 0, "errors": 0, "repositories": 0, "shadow_hosts": 2,
    },
    "services": {"openai": (5, 12_500, 7), "anthropic": (3, 15_000, 6),
                 "gemini": (2, 7 * 1024 * 1024 + 1000, 0)},
    "tools": {"claude": (3, 15_000), "codex": (3, 11_500), "cursor": (3, 7 * 1024 * 1024 + 1000),
              "(unknown process)": (1, 1000)},
    # rule, masked, new, status, services, tools: unacknowledged critical first; only where the
    # value left (the openai key was redacted on its way to openai, the github token blocked)
    "secrets": [
        ("openai-project-key", S2.masked, True, "open", ("anthropic",), ("claude",)),
        ("aws-access-key", S1.masked, False, "open", ("anthropic",), ("claude",)),
        ("slack-bot-token", S4.masked, True, "allowlisted", ("openai",), ("codex",)),
    ],
    "repositories": {"/src/lib": (2, 46, 2), "/src/app": (1, 20, 1)},  # files, lines, requests
    "shadow_hosts": ["llm.gpu-lab.example", "api.tinyai.example"],
}  # fmt: skip


def seed_week(paths: HomePaths) -> None:
    """Write ``ROWS`` and ``HOSTS`` through the real writer; acknowledge and allowlist by SQL."""
    prepare_home(paths)
    writer = EventWriter(paths.database)
    acked: list[int] = []
    try:
        for row in ROWS:
            event = Event(
                f"{row.ts}.000000+00:00", row.service, "f", f"api.{row.service}.example",
                "POST", f"/v1/chat?key={fake_openai_key()}", row.bytes_out, row.action,
                segment_count=2, uninspected_reason=row.uninspected, error=row.error,
                client=f"127.0.0.1 {fake_password()}", model="m",
                conversation_key=fake_github_token(),
            )  # fmt: skip
            # as the pipeline marks them: a redaction stops the values it rewrote
            findings = tuple(
                dataclasses.replace(f, stopped=row.action is not Action.PASS) for f in row.findings
            )
            event_id = writer.write(
                dataclasses.replace(event, findings=findings, process=row.process)
            )
            if row.acked:
                acked.append(event_id)
        for host, ts, ai, process in HOSTS:
            sighting = HostSighting(host, f"{ts}.000000+00:00", decrypted=False,
                                    ai_reason="answers /v1/models" if ai else None,
                                    process=process)  # fmt: skip
            writer.record_host(sighting).result(timeout=30)
    finally:
        writer.close()
    conn = sqlite3.connect(paths.database)
    with conn:
        conn.executemany(
            "INSERT INTO acknowledgements (event_id, acked_at, note) VALUES (?, ?, 'rotated')",
            [(event_id, "2026-11-22T10:00:00.000000+00:00") for event_id in acked],
        )
        conn.execute(
            "INSERT INTO allowlist (fingerprint, rule, reason, created_at) VALUES (?, ?, ?, ?)",
            (S4.fingerprint, S4.rule, "test workspace token", "2026-11-20T10:00:00+00:00"),
        )
    conn.close()

"""``egress-watch ack`` / ``allow``: exit codes, messages, and what lands in the database."""

from __future__ import annotations

import json
import sqlite3

from click.testing import CliRunner

from egress_watch.cli.main import cli
from egress_watch.cli.options import EXIT_USAGE
from egress_watch.model import Action, Category, Event, Finding, Severity
from egress_watch.paths import HomePaths
from egress_watch.store.writer import EventWriter

FP = "hmac-sha256:" + "3f9a" * 16


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def seed(paths: HomePaths) -> int:
    found = Finding(Category.SECRET, "aws-access-key", Severity.CRITICAL, 0, 20, "AKIA…", FP)
    event = Event("2026-01-05T09:00:00", "openai", "openai-chat", "api.openai.com", "POST",
                  "/v1/chat/completions", 10, Action.PASS, (found,))  # fmt: skip
    writer = EventWriter(paths.database)
    try:
        return writer.submit(event).result(timeout=30)
    finally:
        writer.close()


def test_allow_list_and_remove(ew_home: HomePaths) -> None:
    seed(ew_home)
    code, out, _ = invoke("allow", FP, "--reason", "test fixture")
    assert (code, out) == (0, f"allowed {FP} (aws-access-key)\n")
    code, out, _ = invoke("allow", "--list", "--json")
    assert code == 0
    entry = json.loads(out)
    assert (entry["fingerprint"], entry["rule"], entry["reason"]) == (
        FP, "aws-access-key", "test fixture",
    )  # fmt: skip
    code, out, _ = invoke("allow", "--list")
    assert out.startswith(f"{FP}  aws-access-key ")
    assert out.rstrip().endswith("test fixture")
    assert invoke("allow", "--remove", FP) == (0, f"removed {FP}\n", "")
    code, out, err = invoke("allow", "--list")
    assert (code, out, err) == (0, "", "no allowed fingerprints\n")


def test_allow_usage_errors_are_clear(ew_home: HomePaths) -> None:
    code, _, err = invoke("allow", FP)
    assert code == EXIT_USAGE
    assert "--reason TEXT is required" in err
    code, _, err = invoke("allow", "--list", "--remove", FP)
    assert code == EXIT_USAGE
    assert "exactly one of" in err
    code, _, err = invoke("allow", "AKIA-not-a-fingerprint", "--reason", "x")
    assert code == 1
    assert "not a fingerprint" in err
    code, _, err = invoke("allow", "--remove", FP)
    assert code == 1
    assert "is not allowed" in err


def test_ack_an_event(ew_home: HomePaths) -> None:
    event_id = seed(ew_home)
    assert invoke("ack", str(event_id), "--note", "rotated") == (
        0, f"acknowledged event {event_id}\n", "",
    )  # fmt: skip
    rows = (
        sqlite3.connect(ew_home.database)
        .execute("SELECT event_id, note FROM acknowledgements")
        .fetchall()
    )
    assert rows == [(event_id, "rotated")]
    code, _, err = invoke("ack", "999")
    assert code == 1
    assert "no event with id 999" in err

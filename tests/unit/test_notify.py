"""Desktop alerts: once per value, a few per minute, never the value, right command per OS."""

from __future__ import annotations

from pathlib import Path

import pytest

from egress_watch.masking import mask
from egress_watch.model import Action, Category, Finding, ProcessInfo, Severity
from egress_watch.workstation.notify import (
    DEDUP_WINDOW_S,
    MAX_PER_WINDOW,
    RATE_WINDOW_S,
    Notifier,
    compose,
)
from tests.conftest import fake_aws_key_id


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def finding(n: int = 0, severity: Severity = Severity.CRITICAL) -> Finding:
    value = fake_aws_key_id()
    fp = "hmac-sha256:" + f"{n:064x}"
    return Finding(Category.SECRET, "aws-access-key", severity, 0, 20, mask(value), fp)


def test_the_same_value_is_notified_once_per_window() -> None:
    clock = Clock()
    notifier = Notifier(clock=clock)
    assert notifier.note_for([finding(1)], "openai", Action.PASS, None) is not None
    assert notifier.note_for([finding(1)], "openai", Action.PASS, None) is None
    assert notifier.note_for([finding(1), finding(1)], "cursor", Action.BLOCK, None) is None
    clock.now += DEDUP_WINDOW_S
    assert notifier.note_for([finding(1)], "openai", Action.PASS, None) is not None


def test_a_burst_is_rate_limited_and_the_next_note_says_how_many_were_held_back() -> None:
    clock = Clock()
    notifier = Notifier(clock=clock)
    shown = [notifier.note_for([finding(n)], "openai", Action.PASS, None) for n in range(10)]
    assert sum(note is not None for note in shown) == MAX_PER_WINDOW
    clock.now += RATE_WINDOW_S
    note = notifier.note_for([finding(99)], "openai", Action.PASS, None)
    assert note is not None
    assert f"({10 - MAX_PER_WINDOW} earlier alerts not shown)" in note.body


def test_note_names_rule_mask_service_and_process_never_the_value() -> None:
    process = ProcessInfo(pid=4242, name="codex", exe="/usr/bin/codex")
    note = compose([finding(1), finding(2, Severity.HIGH)], "openai", Action.BLOCK, process)
    assert note.title == "egress-watch: secret blocked — openai by codex (pid 4242)"
    assert "critical aws-access-key: AKIA…W5YB (20 chars)" in note.body
    assert note.urgent
    assert fake_aws_key_id() not in note.title + note.body


@pytest.mark.parametrize("platform", ["linux", "darwin"])
def test_the_platforms_notifier_is_run_without_a_shell(
    platform: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = "osascript" if platform == "darwin" else "notify-send"
    executable = tmp_path / name
    executable.write_text("#!/bin/sh\n")
    executable.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    ran: list[list[str]] = []
    notifier = Notifier(runner=ran.append, platform=platform)
    note = compose([finding(1)], "anthropic", Action.REDACT, None)
    assert notifier.send(note)
    (argv,) = ran
    if platform == "darwin":
        assert argv[:2] == ["osascript", "-e"]
        assert argv[2].startswith('display notification "critical aws-access-key')
        assert argv[2].endswith('with title "egress-watch: secret redacted — anthropic"')
    else:
        assert argv == [str(executable), "--app-name=egress-watch", "--urgency=critical",
                        note.title, note.body]  # fmt: skip


def test_no_notifier_on_path_is_not_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    ran: list[list[str]] = []
    notifier = Notifier(runner=ran.append, platform="linux")
    assert not notifier.send(compose([finding(1)], "openai", Action.PASS, None))
    assert ran == []

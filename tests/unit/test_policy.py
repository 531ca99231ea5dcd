"""Policy: which findings make a request pass, get redacted or get blocked."""

from __future__ import annotations

import pytest

from egress_watch.model import Action, Category, Finding, Mode, Severity
from egress_watch.policy import decide, enforceable


def finding(severity: Severity, rule: str = "r") -> Finding:
    return Finding(Category.SECRET, rule, severity, 0, 1, "AKIA…W5YB (20 chars)", "hmac-sha256:00")


@pytest.mark.parametrize(
    ("mode", "severities", "action", "acted_on"),
    [
        (Mode.MONITOR, [Severity.CRITICAL], Action.PASS, 1),
        (Mode.BLOCK, [], Action.PASS, 0),
        (Mode.BLOCK, [Severity.MEDIUM], Action.PASS, 1),
        (Mode.BLOCK, [Severity.MEDIUM, Severity.HIGH], Action.BLOCK, 1),
        (Mode.REDACT, [Severity.LOW, Severity.CRITICAL, Severity.HIGH], Action.REDACT, 2),
        (Mode.REDACT, [Severity.LOW], Action.PASS, 1),
    ],
)
def test_decide(mode: Mode, severities: list[Severity], action: Action, acted_on: int) -> None:
    decision = decide([finding(s) for s in severities], mode, Severity.HIGH)
    assert decision.action is action
    assert len(decision.findings) == acted_on


def test_block_reason_names_rules_and_masks_only() -> None:
    decision = decide([finding(Severity.CRITICAL, "aws-access-key")], Mode.BLOCK, Severity.HIGH)
    assert "aws-access-key AKIA…W5YB (20 chars)" in decision.reason


def test_redact_of_a_body_that_cannot_be_rewritten_blocks_instead() -> None:
    redact = decide([finding(Severity.CRITICAL, "aws-access-key")], Mode.REDACT, Severity.HIGH)
    assert enforceable(redact, rewritable=True) is redact
    blocked = enforceable(redact, rewritable=False)
    assert blocked.action is Action.BLOCK
    assert "cannot be redacted in place" in blocked.reason
    assert blocked.findings == redact.findings


@pytest.mark.parametrize("mode", [Mode.BLOCK, Mode.REDACT])
def test_a_streamed_body_is_recorded_but_not_stopped(mode: Mode) -> None:
    acted = decide([finding(Severity.CRITICAL)], mode, Severity.HIGH)
    recorded = enforceable(acted, rewritable=True, streamed=True)
    assert recorded.action is Action.PASS
    assert recorded.findings == acted.findings
    assert "could not be stopped" in recorded.reason

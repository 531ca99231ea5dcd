"""Decide what happens to a request from its findings and the configured mode (pure)."""

from __future__ import annotations

from collections.abc import Sequence

from egress_watch.model import Action, Decision, Finding, Mode, Severity


def decide(findings: Sequence[Finding], mode: Mode, threshold: Severity) -> Decision:
    """Pass in monitor mode; in block mode, block when any finding reaches ``threshold``."""
    serious = tuple(f for f in findings if f.severity >= threshold)
    if mode is Mode.BLOCK and serious:
        rules = ", ".join(sorted({f.rule for f in serious}))
        return Decision(Action.BLOCK, f"egress-watch blocked this request: found {rules}", serious)
    return Decision(Action.PASS, findings=tuple(findings))

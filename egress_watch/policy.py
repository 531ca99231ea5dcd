"""Decide what happens to a request from its findings and the configured mode (pure)."""

from __future__ import annotations

from collections.abc import Sequence

from egress_watch.model import Action, Decision, Finding, Mode, Severity


def decide(findings: Sequence[Finding], mode: Mode, threshold: Severity) -> Decision:
    """Monitor passes everything; block and redact act on findings at or above ``threshold``.

    The decision's findings are the ones acted on (all of them when passing).
    """
    serious = tuple(f for f in findings if f.severity >= threshold)
    if not serious or mode is Mode.MONITOR:
        return Decision(Action.PASS, findings=tuple(findings))
    rules = ", ".join(sorted({f.rule for f in serious}))
    if mode is Mode.REDACT:
        return Decision(Action.REDACT, f"redacted {rules}", serious)
    masked = "; ".join(f"{f.rule} {f.masked}" for f in serious[:5])
    return Decision(
        Action.BLOCK,
        f"egress-watch blocked this request because it contains {masked}. "
        "Remove the value and send the request again.",
        serious,
    )

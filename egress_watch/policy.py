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
    return block(serious)


def block(serious: tuple[Finding, ...], why: str = "") -> Decision:
    """A block decision whose reason names what was found (masked) and what to do."""
    masked = "; ".join(f"{f.rule} {f.masked}" for f in serious[:5])
    return Decision(
        Action.BLOCK,
        f"egress-watch blocked this request because it contains {masked}{why}. "
        "Remove the value and send the request again.",
        serious,
    )


def enforceable(decision: Decision, rewritable: bool, streamed: bool = False) -> Decision:
    """Turn a decision into one the proxy can carry out for this body.

    A streamed body has already left when it is inspected: it is recorded, not stopped.
    Redaction needs a body whose strings can be rewritten in place; protobuf, multipart and
    base64-wrapped bodies cannot be re-encoded safely here, so those are blocked instead.
    """
    if streamed and decision.action is not Action.PASS:
        return Decision(
            Action.PASS, "streamed request: recorded, could not be stopped", decision.findings
        )
    if decision.action is Action.REDACT and not rewritable:
        return block(decision.findings, " (this body cannot be redacted in place)")
    return decision

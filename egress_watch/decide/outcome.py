"""Whether a sensitive value left: what the proxy did to it and whether the upstream got it.

A value *left* (was exposed) only when its request was forwarded, the upstream received it, and
the value was not redacted in flight. Everything else was stopped before leaving. The report,
the dashboard and the export all ask this one module, so they agree.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import replace

from egress_watch.model import Action, Decision, Finding


class Outcome(enum.StrEnum):
    """What became of one sighting of a value."""

    SENT = "sent"
    """The upstream received the value as it was: it is exposed."""
    REDACTED = "redacted"
    """The request went out with the value replaced."""
    BLOCKED = "blocked"
    """The request was answered locally; nothing went out."""
    NOT_SENT = "not_sent"
    """Forwarded, but the upstream never got the request (connection error or reset)."""


STOPPED = frozenset({Outcome.REDACTED, Outcome.BLOCKED, Outcome.NOT_SENT})


def finding_outcome(action: str, stopped: bool | None) -> Outcome:
    """The outcome of a finding from its event's action and its own ``stopped`` mark.

    ``stopped`` is None for findings recorded before the mark existed: in a redacted request
    those count as redacted (the request's action says values were replaced). An action this
    version does not know counts as sent, so nothing is hidden by an unknown word.
    """
    if action == Action.BLOCK:
        return Outcome.BLOCKED
    if action == Action.FAILED:
        return Outcome.NOT_SENT
    if action == Action.REDACT and (stopped is None or stopped):
        return Outcome.REDACTED
    return Outcome.SENT


def outcome_sql(event: str = "e", finding: str = "f") -> str:
    """``finding_outcome`` as an SQL expression over an events row and a findings row."""
    return (
        f"(CASE WHEN {event}.action = 'block' THEN 'blocked' "
        f"WHEN {event}.action = 'failed' THEN 'not_sent' "
        f"WHEN {event}.action = 'redact' AND coalesce({finding}.stopped, 1) THEN 'redacted' "
        "ELSE 'sent' END)"
    )


def mark_stopped(findings: Sequence[Finding], decision: Decision) -> tuple[Finding, ...]:
    """The findings with ``stopped`` set on every value the decision keeps from leaving.

    A block stops every value of the request; a redaction stops the findings it rewrites
    (the decision's findings), and the rest of the request leaves as it was.
    """
    if decision.action is Action.BLOCK:
        return tuple(replace(f, stopped=True) for f in findings)
    if decision.action is Action.REDACT:
        acted = {id(f) for f in decision.findings}
        spans = {(f.segment_index, f.start, f.end) for f in decision.findings}
        return tuple(
            replace(f, stopped=True)
            if id(f) in acted or (f.segment_index, f.start, f.end) in spans
            else f
            for f in findings
        )
    return tuple(replace(f, stopped=False) if f.stopped else f for f in findings)


SOMETHING_LEFT_SQL = (
    "(e.severity_rank > 0 AND e.action NOT IN ('block', 'failed') "
    "AND e.service != 'egress-watch-demo' "
    "AND (e.action != 'redact' OR EXISTS (SELECT 1 FROM findings lf "
    "WHERE lf.event_id = e.id AND NOT coalesce(lf.stopped, 1))))"
)
"""SQL over an events row ``e``: true when the request let at least one value reach the service
(``egress-watch demo``'s test events never count)."""

"""What an upstream failure means for a request's event: did the request leave at all?"""

from __future__ import annotations

from egress_watch.model import Action

CLIENT_SIDE = ("Client disconnected", "Connection killed")
"""Errors caused by the client or by us: the upstream did not fail."""


def upstream_outcome(error: str, response_started: bool) -> tuple[Action | None, str] | None:
    """The action and error to write onto the event, or None when the upstream is not at fault.

    Without a response the request never got an answer: it is ``failed``, not sent. When the
    response had started, the request did arrive: only the error is recorded.
    """
    if any(error.startswith(prefix) for prefix in CLIENT_SIDE):
        return None
    message = f"upstream error: {error}"[:300]
    if response_started:
        return None, message
    return Action.FAILED, message

"""Which conversation a request belongs to, as a keyed id that reveals nothing (pure).

Agents resend the whole history every turn, so the opening of a conversation (its system text
and first message) is the same in every request of it; clients that name their session
(Claude Code's ``metadata.user_id``, Codex's ``prompt_cache_key``, a Responses ``conversation``)
are keyed on that name instead. The key is an HMAC with the per-install key, so it can be
stored and exported without saying what the conversation was about.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

CONVERSATION_PREFIX = "conv:"
_HISTORIES = ("messages", "contents", "input", "inputs", "items")
_OPENING = ("system", "instructions", "systemInstruction", "system_instruction")
_SYSTEM_ROLES = frozenset({"system", "developer"})


def _named_session(document: dict[str, Any]) -> str | None:
    metadata = document.get("metadata")
    user_id = metadata.get("user_id") if isinstance(metadata, dict) else None
    if isinstance(user_id, str) and "session" in user_id:
        return "session:" + user_id
    for key in ("conversation", "prompt_cache_key", "conversation_id"):
        named = document.get(key)
        if isinstance(named, dict):
            named = named.get("id")
        if isinstance(named, str) and named:
            return f"{key}:{named}"
    return None


def conversation_anchor(document: Any) -> str | None:
    """What stays the same across the turns of the request's conversation; None if unknown."""
    if not isinstance(document, dict):
        return None
    named = _named_session(document)
    if named is not None:
        return named
    previous = document.get("previous_response_id")
    if isinstance(previous, str) and previous:
        return response_anchor(previous)  # the vault knows which conversation it continues
    history = next((document[k] for k in _HISTORIES if k in document), None)
    if isinstance(history, list) and history:
        first: Any = _through_first_user_message(history)
    elif isinstance(history, str) and history:
        first = history
    else:
        return None
    opening = {k: document[k] for k in _OPENING if k in document}
    return "opening:" + json.dumps([opening, first], sort_keys=True, ensure_ascii=False)


def _through_first_user_message(history: list[Any]) -> list[Any]:
    """The leading system / developer messages and the first message after them.

    A tool sends the same system prompt in every conversation: only the first user message
    tells its conversations apart.
    """
    for index, item in enumerate(history):
        role = item.get("role") if isinstance(item, dict) else None
        if role not in _SYSTEM_ROLES:
            return history[: index + 1]
    return history


def response_anchor(response_id: str) -> str:
    """The anchor of a Responses answer, continued by ``previous_response_id``."""
    return "response:" + response_id


def conversation_key(key: bytes, service: str, anchor: str) -> str:
    """The stored id of a conversation: keyed, short, the same for every turn."""
    digest = hmac.new(key, f"{service}\0{anchor}".encode(), hashlib.sha256).hexdigest()
    return CONVERSATION_PREFIX + digest[:24]

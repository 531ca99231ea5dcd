"""OpenAI Chat Completions bodies: messages, parts, tool calls, tool results, predictions."""

from __future__ import annotations

from typing import Any

from egress_watch.extract.generic import is_blob, walk_strings
from egress_watch.model import JsonPath, Segment

ROLE_NAMES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}


def _content_segments(content: Any, role: str, where: JsonPath, index: int) -> list[Segment]:
    """Content is a string or a list of typed parts; only text parts carry text."""
    if isinstance(content, str):
        return [Segment(role, content, where, index)] if content else []
    segments: list[Segment] = []
    for part_no, part in enumerate(content or ()):
        if isinstance(part, dict) and isinstance(part.get("text"), str) and part["text"]:
            segments.append(Segment(role, part["text"], (*where, part_no, "text"), index))
    return segments


def _tool_call_segments(calls: Any, where: JsonPath, index: int) -> list[Segment]:
    segments: list[Segment] = []
    for call_no, call in enumerate(calls or ()):
        arguments = (call.get("function") or {}).get("arguments")
        if isinstance(arguments, str) and arguments and not is_blob(arguments):
            path = (*where, call_no, "function", "arguments")
            segments.append(Segment("tool_call", arguments, path, index))
    return segments


def _message_segments(message: dict[str, Any], index: int) -> list[Segment]:
    where: JsonPath = ("messages", index)
    raw_role = message.get("role", "")
    role = "tool_result" if raw_role in {"tool", "function"} else ROLE_NAMES.get(raw_role, "other")
    segments = _content_segments(message.get("content"), role, (*where, "content"), index)
    segments += _tool_call_segments(message.get("tool_calls"), (*where, "tool_calls"), index)
    return segments


def extract_chat(document: Any) -> list[Segment]:
    """Segments of a ``/v1/chat/completions`` request, in message order."""
    segments: list[Segment] = []
    for index, message in enumerate(document["messages"]):
        segments += _message_segments(message, index)
    prediction = document.get("prediction")
    if isinstance(prediction, dict):
        segments += _content_segments(
            prediction.get("content"), "prediction", ("prediction", "content"), -1
        )
    for where, text in walk_strings(document.get("tools") or [], ("tools",)):
        segments.append(Segment("tool_definition", text, where))
    return segments

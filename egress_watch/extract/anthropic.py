"""Anthropic Messages bodies: system prompt, text, tool use, nested tool results, documents."""

from __future__ import annotations

from typing import Any

from egress_watch.extract.generic import walk_strings
from egress_watch.model import JsonPath, Segment


def _block_segments(block: Any, role: str, where: JsonPath, index: int) -> list[Segment]:
    """One content block; tool results nest blocks of their own."""
    if isinstance(block, str):
        return [Segment(role, block, where, index)] if block else []
    if not isinstance(block, dict):
        return []
    kind = block.get("type")
    if kind == "text" and isinstance(block.get("text"), str):
        return [Segment(role, block["text"], (*where, "text"), index)] if block["text"] else []
    if kind == "thinking" and isinstance(block.get("thinking"), str):
        return [Segment("assistant", block["thinking"], (*where, "thinking"), index)]
    if kind == "tool_use":
        leaves = walk_strings(block.get("input"), (*where, "input"))
        return [Segment("tool_call", text, path, index) for path, text in leaves]
    if kind == "tool_result":
        return _content_segments(block.get("content"), "tool_result", (*where, "content"), index)
    if kind == "document":
        source = block.get("source") or {}
        if source.get("type") == "text" and isinstance(source.get("data"), str):
            return [Segment("document", source["data"], (*where, "source", "data"), index)]
        if source.get("type") == "content":
            return _content_segments(
                source.get("content"), "document", (*where, "source", "content"), index
            )
    return []  # images, base64 PDFs, redacted thinking: nothing readable


def _content_segments(content: Any, role: str, where: JsonPath, index: int) -> list[Segment]:
    if isinstance(content, str):
        return [Segment(role, content, where, index)] if content else []
    segments: list[Segment] = []
    for block_no, block in enumerate(content or ()):
        segments += _block_segments(block, role, (*where, block_no), index)
    return segments


def extract_messages(document: Any) -> list[Segment]:
    """Segments of a ``/v1/messages`` (or count_tokens) request: system first, then messages."""
    segments = _content_segments(document.get("system"), "system", ("system",), -1)
    for index, message in enumerate(document["messages"]):
        role = "assistant" if message.get("role") == "assistant" else "user"
        segments += _content_segments(
            message.get("content"), role, ("messages", index, "content"), index
        )
    for where, text in walk_strings(document.get("tools") or [], ("tools",)):
        segments.append(Segment("tool_definition", text, where))
    return segments

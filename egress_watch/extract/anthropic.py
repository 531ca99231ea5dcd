"""Anthropic Messages bodies (api.anthropic.com, Bedrock invoke, Vertex rawPredict, compatibles).

Also count_tokens (same body), message batches (``requests[].params``) and legacy
``/v1/complete`` (one ``prompt`` string).
"""

from __future__ import annotations

from typing import Any

from egress_watch.extract.generic import leaf_segments, text_segment
from egress_watch.extract.hints import hint_from_mapping
from egress_watch.extract.openai import tool_definitions
from egress_watch.model import JsonPath, Segment

_MEDIA_BLOCKS = frozenset({"image", "redacted_thinking", "container_upload"})


def _document(block: dict[str, Any], role: str, where: JsonPath, index: int) -> list[Segment]:
    """Plain-text and custom-content documents; base64 PDFs, URLs and file ids are skipped."""
    source = block.get("source") or {}
    segments = text_segment("document", block.get("title"), (*where, "title"), index)
    segments += text_segment("document", block.get("context"), (*where, "context"), index)
    if source.get("type") == "text":
        segments += text_segment("document", source.get("data"), (*where, "source", "data"), index)
    elif source.get("type") == "content":
        segments += content_segments(
            source.get("content"), "document", (*where, "source", "content"), index
        )
    return segments


def _block(
    block: Any, role: str, where: JsonPath, index: int, hints: dict[str, str]
) -> list[Segment]:
    """One content block; tool results nest blocks of their own."""
    if isinstance(block, str):
        return text_segment(role, block, where, index)
    if not isinstance(block, dict):
        return []
    kind = block.get("type")
    if kind in _MEDIA_BLOCKS:
        return []
    if kind == "text":
        return text_segment(role, block.get("text"), (*where, "text"), index)
    if kind == "thinking":
        return text_segment("assistant", block.get("thinking"), (*where, "thinking"), index)
    if kind == "tool_use":
        hint = hint_from_mapping(block.get("input"))
        return leaf_segments(block.get("input"), "tool_call", (*where, "input"), index, hint)
    if kind == "tool_result":
        hint = hints.get(block.get("tool_use_id", ""))
        return content_segments(
            block.get("content"), "tool_result", (*where, "content"), index, hints, hint
        )
    if kind == "document":
        return _document(block, role, where, index)
    if kind == "mid_conv_system":
        return content_segments(block.get("content"), "system", (*where, "content"), index)
    # search_result, server tool uses and their results: every readable string.
    body = {
        k: v for k, v in block.items() if k not in {"type", "id", "tool_use_id", "cache_control"}
    }
    result_role = "tool_result" if kind and kind.endswith("_result") else role
    return leaf_segments(body, result_role, where, index)


def content_segments(
    content: Any,
    role: str,
    where: JsonPath,
    index: int,
    hints: dict[str, str] | None = None,
    hint: str | None = None,
) -> list[Segment]:
    """A string or a list of blocks."""
    if isinstance(content, str):
        return text_segment(role, content, where, index, hint)
    segments: list[Segment] = []
    for block_no, block in enumerate(content if isinstance(content, list) else ()):
        found = _block(block, role, (*where, block_no), index, hints or {})
        segments += [s if s.path_hint or not hint else _hinted(s, hint) for s in found]
    return segments


def _hinted(segment: Segment, hint: str) -> Segment:
    return Segment(segment.role, segment.text, segment.origin, segment.message_index, hint)


def _tool_use_hints(messages: list[Any]) -> dict[str, str]:
    hints: dict[str, str] = {}
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        for block in content if isinstance(content, list) else ():
            if isinstance(block, dict) and block.get("type") == "tool_use":
                hint = hint_from_mapping(block.get("input"))
                if hint and isinstance(block.get("id"), str):
                    hints[block["id"]] = hint
    return hints


def messages_body(document: Any, where: JsonPath = ()) -> list[Segment]:
    """Segments of one Messages body: system first, then messages, then tool schemas."""
    messages = document["messages"]
    if not isinstance(messages, list):
        raise TypeError("messages is not a list")
    hints = _tool_use_hints(messages)
    segments = content_segments(document.get("system"), "system", (*where, "system"), -1)
    for index, message in enumerate(messages):
        role = "assistant" if message.get("role") == "assistant" else "user"
        segments += content_segments(
            message.get("content"), role, (*where, "messages", index, "content"), index, hints
        )
    return segments + tool_definitions(document.get("tools"), (*where, "tools"))


def extract_messages(document: Any) -> list[Segment]:
    """``/v1/messages``, count_tokens, batches and legacy ``/v1/complete`` bodies."""
    if isinstance(document.get("requests"), list):
        segments: list[Segment] = []
        for no, request in enumerate(document["requests"]):
            if isinstance(request, dict) and isinstance(request.get("params"), dict):
                segments += messages_body(request["params"], ("requests", no, "params"))
        return segments
    if "messages" not in document and isinstance(document.get("prompt"), str):
        return text_segment("user", document["prompt"], ("prompt",), 0)
    return messages_body(document)

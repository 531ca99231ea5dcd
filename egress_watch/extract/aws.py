"""AWS bodies: Bedrock Converse, Bedrock InvokeModel, Amazon Q / CodeWhisperer / Kiro."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from egress_watch.decoding.charset import forgiving_text
from egress_watch.extract import anthropic
from egress_watch.extract.generic import leaf_segments, text_segment, walk_strings
from egress_watch.extract.hints import hint_from_mapping
from egress_watch.model import JsonPath, Segment

TEXT_DOCUMENT_FORMATS = frozenset({"txt", "md", "csv", "html", "json", "xml"})


def _document_text(document: dict[str, Any]) -> str | None:
    """Converse document bytes, decoded when the format is a text type."""
    data = (document.get("source") or {}).get("bytes")
    if str(document.get("format", "")).lower() not in TEXT_DOCUMENT_FORMATS:
        return None
    if not isinstance(data, str):
        return None
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return None
    return forgiving_text(raw)


def _converse_block(block: Any, role: str, where: JsonPath, index: int) -> list[Segment]:
    if not isinstance(block, dict):
        return []
    if "text" in block:
        return text_segment(role, block["text"], (*where, "text"), index)
    if isinstance(block.get("document"), dict):
        document = block["document"]
        segments = text_segment(
            "document", document.get("name"), (*where, "document", "name"), index
        )
        text = _document_text(document)
        origin = (*where, "document", "source", "bytes")
        return segments + ([Segment("document", text, origin, index)] if text else [])
    if isinstance(block.get("toolUse"), dict):
        tool_input = block["toolUse"].get("input")
        return leaf_segments(
            tool_input,
            "tool_call",
            (*where, "toolUse", "input"),
            index,
            hint_from_mapping(tool_input),
        )
    if isinstance(block.get("toolResult"), dict):
        results: list[Segment] = []
        for no, item in enumerate(block["toolResult"].get("content") or ()):
            results += _converse_block(
                item, "tool_result", (*where, "toolResult", "content", no), index
            )
        return results
    if "json" in block:
        return leaf_segments(block["json"], role, (*where, "json"), index)
    if isinstance(block.get("reasoningContent"), dict):
        reasoning = block["reasoningContent"].get("reasoningText") or {}
        return text_segment(
            "assistant",
            reasoning.get("text"),
            (*where, "reasoningContent", "reasoningText", "text"),
            index,
        )
    if isinstance(block.get("guardContent"), dict):
        return leaf_segments(
            block["guardContent"].get("text"), role, (*where, "guardContent", "text"), index
        )
    return []  # image, video, cachePoint, s3 references


def extract_converse(document: Any) -> list[Segment]:
    """``/model/{id}/converse[-stream]``: system, messages, prompt variables."""
    segments: list[Segment] = []
    for no, block in enumerate(document.get("system") or ()):
        segments += _converse_block(block, "system", ("system", no), -1)
    if "messages" not in document and "system" not in document:
        raise ValueError("not a Converse body")
    messages = document.get("messages") or []
    for index, message in enumerate(messages):
        role = "assistant" if message.get("role") == "assistant" else "user"
        for no, block in enumerate(message.get("content") or ()):
            segments += _converse_block(block, role, ("messages", index, "content", no), index)
    for name, value in (document.get("promptVariables") or {}).items():
        segments += leaf_segments(value, "user", ("promptVariables", name), -1)
    return segments


def extract_invoke(document: Any) -> list[Segment]:
    """InvokeModel: an Anthropic Messages body, else the model's own shape read generically."""
    if isinstance(document, dict) and isinstance(document.get("messages"), list):
        return anthropic.messages_body(document)
    if isinstance(document, dict):
        for key in ("prompt", "inputText", "message"):
            if isinstance(document.get(key), str):
                rest = {k: v for k, v in document.items() if k != key}
                return text_segment("user", document[key], (key,), 0) + leaf_segments(
                    rest, "other", ()
                )
    return leaf_segments(document, "other", ())


def _user_input(message: dict[str, Any], where: JsonPath, index: int) -> list[Segment]:
    segments = text_segment("user", message.get("content"), (*where, "content"), index)
    context = message.get("userInputMessageContext")
    if not isinstance(context, dict):
        return segments
    here: JsonPath = (*where, "userInputMessageContext")
    document = (context.get("editorState") or {}).get("document") or {}
    segments += text_segment(
        "file",
        document.get("text"),
        (*here, "editorState", "document", "text"),
        index,
        hint_from_mapping(document),
    )
    for no, result in enumerate(context.get("toolResults") or ()):
        segments += leaf_segments(
            (result or {}).get("content"),
            "tool_result",
            (*here, "toolResults", no, "content"),
            index,
        )
    for key in ("envState", "shellState", "gitState"):
        segments += leaf_segments(context.get(key), "context", (*here, key), index)
    return segments


def _conversation(state: dict[str, Any]) -> list[Segment]:
    segments: list[Segment] = []
    for index, turn in enumerate(state.get("history") or ()):
        where: JsonPath = ("conversationState", "history", index)
        if isinstance(turn.get("userInputMessage"), dict):
            segments += _user_input(turn["userInputMessage"], (*where, "userInputMessage"), index)
        answer = turn.get("assistantResponseMessage")
        if isinstance(answer, dict):
            here = (*where, "assistantResponseMessage")
            segments += text_segment("assistant", answer.get("content"), (*here, "content"), index)
            for no, use in enumerate(answer.get("toolUses") or ()):
                segments += leaf_segments(
                    (use or {}).get("input"), "tool_call", (*here, "toolUses", no, "input"), index
                )
    current = (state.get("currentMessage") or {}).get("userInputMessage")
    if isinstance(current, dict):
        where = ("conversationState", "currentMessage", "userInputMessage")
        segments += _user_input(current, where, len(state.get("history") or ()))
    return segments


def extract_amazon_q(document: Any) -> list[Segment]:
    """GenerateAssistantResponse / SendMessage (conversationState) and GenerateCompletions."""
    if isinstance(document.get("conversationState"), dict):
        return _conversation(document["conversationState"])
    context = document.get("fileContext")
    if not isinstance(context, dict):
        return [Segment("other", t, p) for p, t in walk_strings(document)]
    hint = hint_from_mapping(context)
    segments = text_segment(
        "fim_prefix", context.get("leftFileContent"), ("fileContext", "leftFileContent"), -1, hint
    )
    segments += text_segment(
        "fim_suffix", context.get("rightFileContent"), ("fileContext", "rightFileContent"), -1, hint
    )
    for no, extra in enumerate(document.get("supplementalContexts") or ()):
        if isinstance(extra, dict):
            segments += text_segment(
                "file",
                extra.get("content"),
                ("supplementalContexts", no, "content"),
                -1,
                hint_from_mapping(extra),
            )
    return segments

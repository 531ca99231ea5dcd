"""OpenAI Chat Completions, legacy completions / FIM and embeddings bodies (and look-alikes).

Tool-call ``arguments`` are JSON inside a string. They are kept as ONE segment whose text is
the raw string (so redaction rewrites inside it and the body stays valid); the parsed
arguments only supply the path hint. Secrets and code survive JSON string escaping intact
except for newlines, which the classifier's rules do not need.
"""

from __future__ import annotations

from typing import Any

from egress_watch.extract.generic import is_blob, text_segment, walk_strings
from egress_watch.extract.hints import hint_from_json_text
from egress_watch.model import JsonPath, Segment

ROLE_NAMES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}
TEXT_PART_KEYS = ("text", "refusal")


class NothingToScan(Exception):
    """The body is well formed but carries no text (token ids): recorded as uninspected."""


def content_segments(
    content: Any, role: str, where: JsonPath, index: int, hint: str | None = None
) -> list[Segment]:
    """Content is a string or a list of typed parts; only text parts carry text."""
    if isinstance(content, str):
        return text_segment(role, content, where, index, hint)
    segments: list[Segment] = []
    if not isinstance(content, list):
        return segments
    for part_no, part in enumerate(content):
        if isinstance(part, str):
            segments += text_segment(role, part, (*where, part_no), index, hint)
        elif isinstance(part, dict) and isinstance(part.get("text"), str):
            segments += text_segment(role, part["text"], (*where, part_no, "text"), index, hint)
    return segments


def _arguments_segment(arguments: Any, path: JsonPath, index: int) -> list[Segment]:
    if not isinstance(arguments, str) or not arguments or is_blob(arguments):
        return []
    return [Segment("tool_call", arguments, path, index, hint_from_json_text(arguments))]


def _tool_calls(message: dict[str, Any], where: JsonPath, index: int) -> list[Segment]:
    segments: list[Segment] = []
    for call_no, call in enumerate(message.get("tool_calls") or ()):
        if isinstance(call, dict):
            path = (*where, "tool_calls", call_no, "function", "arguments")
            segments += _arguments_segment(
                (call.get("function") or {}).get("arguments"), path, index
            )
    legacy = message.get("function_call")
    if isinstance(legacy, dict):
        segments += _arguments_segment(
            legacy.get("arguments"), (*where, "function_call", "arguments"), index
        )
    return segments


def _call_hints(messages: list[Any]) -> dict[str, str]:
    """tool_call_id -> the file the call named, so its tool result gets the same hint."""
    hints: dict[str, str] = {}
    for message in messages:
        for call in (message.get("tool_calls") or ()) if isinstance(message, dict) else ():
            arguments = (
                (call.get("function") or {}).get("arguments") if isinstance(call, dict) else None
            )
            hint = hint_from_json_text(arguments) if isinstance(arguments, str) else None
            if hint and isinstance(call.get("id"), str):
                hints[call["id"]] = hint
    return hints


def chat_messages(messages: Any, where: JsonPath = ("messages",)) -> list[Segment]:
    """Segments of an OpenAI-shaped ``messages`` list, in order."""
    if not isinstance(messages, list):
        raise TypeError("messages is not a list")
    hints = _call_hints(messages)
    segments: list[Segment] = []
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            continue
        here = (*where, index)
        raw_role = message.get("role", "")
        role = (
            "tool_result" if raw_role in {"tool", "function"} else ROLE_NAMES.get(raw_role, "other")
        )
        hint = hints.get(message.get("tool_call_id", ""))
        segments += content_segments(message.get("content"), role, (*here, "content"), index, hint)
        if isinstance(message.get("reasoning_content"), str):
            segments += text_segment(
                "assistant", message["reasoning_content"], (*here, "reasoning_content"), index
            )
        segments += _tool_calls(message, here, index)
    return segments


def tool_definitions(tools: Any, where: JsonPath = ("tools",)) -> list[Segment]:
    return [Segment("tool_definition", t, p) for p, t in walk_strings(tools or [], where)]


def extract_chat(document: Any) -> list[Segment]:
    """Segments of a ``/chat/completions`` request: messages, prediction, tool schemas."""
    segments = chat_messages(document["messages"])
    prediction = document.get("prediction")
    if isinstance(prediction, dict):
        segments += content_segments(
            prediction.get("content"), "prediction", ("prediction", "content"), -1
        )
    return segments + tool_definitions(document.get("tools"))


def _is_token_ids(value: Any) -> bool:
    """``[1, 2, 3]`` or ``[[1, 2], [3]]``: a tokenized prompt, nothing to read."""
    if not isinstance(value, list) or not value:
        return False
    return all(isinstance(v, int) or (isinstance(v, list) and _is_token_ids(v)) for v in value)


def _prompt_segments(prompt: Any, role: str, where: JsonPath, index: int = -1) -> list[Segment]:
    if isinstance(prompt, list) and not _is_token_ids(prompt):
        segments: list[Segment] = []
        for no, item in enumerate(prompt):
            if isinstance(item, str):
                segments += text_segment(role, item, (*where, no), index)
        return segments
    return text_segment(role, prompt, where, index) if isinstance(prompt, str) else []


def extract_completions(document: Any) -> list[Segment]:
    """Legacy completions and FIM: ``prompt`` (+ ``suffix``), Ollama ``system``, Vertex FIM."""
    if not isinstance(document, dict):
        raise TypeError("not an object")
    if _is_token_ids(document.get("prompt")) and not document.get("suffix"):
        raise NothingToScan("prompt is token ids, not text")
    segments = text_segment("system", document.get("system"), ("system",), -1)
    has_suffix = isinstance(document.get("suffix"), str)
    prefix_role = "fim_prefix" if has_suffix else "user"
    segments += _prompt_segments(document.get("prompt"), prefix_role, ("prompt",))
    segments += text_segment("fim_suffix", document.get("suffix"), ("suffix",), -1)
    for no, instance in enumerate(document.get("instances") or ()):
        if isinstance(instance, dict):  # Vertex code-gecko :predict
            segments += text_segment(
                "fim_prefix", instance.get("prefix"), ("instances", no, "prefix"), no
            )
            segments += text_segment(
                "fim_suffix", instance.get("suffix"), ("instances", no, "suffix"), no
            )
    if not segments and "prompt" not in document and "instances" not in document:
        raise ValueError("not a completions body")
    return segments


def extract_copilot_completions(document: Any) -> list[Segment]:
    """Copilot ghost text: FIM plus neighbouring-file snippets under ``extra.context``."""
    segments = extract_completions(document)
    extra = document.get("extra")
    if isinstance(extra, dict):
        for path, text in walk_strings(extra.get("context") or [], ("extra", "context")):
            segments.append(Segment("file", text, path, -1))
    return segments


def extract_embeddings(document: Any) -> list[Segment]:
    """Embeddings ``input``: text (often code chunks from an indexer) or token ids."""
    value = document["input"]
    if _is_token_ids(value):
        raise NothingToScan("embeddings input is token ids, not text")
    return _prompt_segments(value, "document", ("input",))

"""OpenAI Responses API bodies (also Codex, Copilot ``/responses``, xAI, Mistral Conversations)."""

from __future__ import annotations

from typing import Any

from egress_watch.extract.generic import leaf_segments, text_segment
from egress_watch.extract.hints import hint_from_json_text, hint_from_mapping
from egress_watch.extract.openai import ROLE_NAMES, content_segments, tool_definitions
from egress_watch.model import JsonPath, Segment

# Items that only reference server state or carry images / opaque blobs.
_OPAQUE_ITEMS = frozenset(
    {"compaction", "item_reference", "computer_call_output", "image_generation_call"}
)
_CALL_OUTPUTS = frozenset(
    {
        "function_call_output",
        "custom_tool_call_output",
        "local_shell_call_output",
        "apply_patch_call_output",
    }
)


def _call_hint(item: dict[str, Any]) -> str | None:
    kind = item.get("type")
    if kind == "function_call" and isinstance(item.get("arguments"), str):
        return hint_from_json_text(item["arguments"])
    if kind == "apply_patch_call":
        return hint_from_mapping(item.get("operation"))
    return None


def _tool_call(
    item: dict[str, Any], where: JsonPath, index: int, hint: str | None
) -> list[Segment]:
    kind = item["type"]
    if kind == "function_call":
        return text_segment("tool_call", item.get("arguments"), (*where, "arguments"), index, hint)
    if kind == "custom_tool_call":
        return text_segment("tool_call", item.get("input"), (*where, "input"), index, hint)
    if kind == "apply_patch_call":
        operation = item.get("operation") or {}
        return text_segment(
            "tool_call", operation.get("diff"), (*where, "operation", "diff"), index, hint
        )
    if kind == "mcp_call":
        return leaf_segments(item.get("arguments"), "tool_call", (*where, "arguments"), index) + (
            leaf_segments(item.get("output"), "tool_result", (*where, "output"), index)
        )
    # local_shell_call, shell_call, code_interpreter_call, file_search_call, web_search_call
    body = {k: v for k, v in item.items() if k not in {"type", "id", "call_id", "status"}}
    return leaf_segments(body, "tool_call", where, index, hint)


def _item_segments(item: Any, where: JsonPath, index: int, hints: dict[str, str]) -> list[Segment]:
    if isinstance(item, str):
        return text_segment("user", item, where, index)
    if not isinstance(item, dict):
        return []
    kind = item.get("type", "message")
    hint = hints.get(item.get("call_id", ""))
    if kind in _OPAQUE_ITEMS:
        return []
    if kind == "message" or ("role" in item and "type" not in item):
        role = ROLE_NAMES.get(item.get("role", ""), "other")
        return content_segments(item.get("content"), role, (*where, "content"), index)
    if kind in _CALL_OUTPUTS:
        output = item.get("output")
        return (
            content_segments(output, "tool_result", (*where, "output"), index, hint)
            if not isinstance(output, dict)
            else leaf_segments(output, "tool_result", (*where, "output"), index, hint)
        )
    if kind == "shell_call_output":
        return leaf_segments(item.get("output"), "tool_result", (*where, "output"), index, hint)
    if kind == "reasoning":
        return leaf_segments(
            {k: item.get(k) for k in ("summary", "content")}, "assistant", where, index
        )
    return _tool_call(item, where, index, hint)


def input_items(items: Any, where: JsonPath) -> list[Segment]:
    """Segments of a Responses ``input`` (a string or a list of items)."""
    if isinstance(items, str):
        return text_segment("user", items, where, 0)
    if not isinstance(items, list):
        return []
    hints = {
        item["call_id"]: hint
        for item in items
        if isinstance(item, dict) and isinstance(item.get("call_id"), str)
        for hint in [_call_hint(item)]
        if hint
    }
    segments: list[Segment] = []
    for index, item in enumerate(items):
        segments += _item_segments(item, (*where, index), index, hints)
    return segments


def call_id_of(document: Any, origin: JsonPath) -> str | None:
    """The ``call_id`` of the input item a segment came from (``("input", 3, "output")``)."""
    if len(origin) < 2 or not isinstance(document, dict) or not isinstance(origin[1], int):
        return None
    items = document.get(str(origin[0]))
    if not isinstance(items, list) or not 0 <= origin[1] < len(items):
        return None
    item = items[origin[1]]
    call_id = item.get("call_id") if isinstance(item, dict) else None
    return call_id if isinstance(call_id, str) else None


def server_call_hint(message: Any) -> tuple[str, str] | None:
    """(call_id, file) of a function call the *server* announced on a Responses WebSocket.

    Over the socket, a later client message carries only the call's output (the call itself
    was the server's), so the proxy remembers the file each call named, per connection.
    """
    if not isinstance(message, dict) or message.get("type") != "response.output_item.done":
        return None
    item = message.get("item")
    if not isinstance(item, dict) or not isinstance(item.get("call_id"), str):
        return None
    hint = _call_hint(item)
    return (item["call_id"], hint) if hint else None


def extract_responses(document: Any) -> list[Segment]:
    """Segments of a ``/responses`` request: instructions, input items, prompt variables."""
    if not isinstance(document, dict):
        raise TypeError("not an object")
    segments = text_segment("system", document.get("instructions"), ("instructions",), -1)
    for key in ("input", "items", "inputs"):  # responses / conversations / Mistral conversations
        segments += input_items(document.get(key), (key,))
    prompt = document.get("prompt")
    if isinstance(prompt, dict):
        segments += leaf_segments(prompt.get("variables"), "user", ("prompt", "variables"), -1)
    if not segments and not any(k in document for k in ("input", "items", "inputs")):
        raise ValueError("not a Responses body")
    return segments + tool_definitions(document.get("tools"))

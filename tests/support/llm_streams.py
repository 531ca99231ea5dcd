"""Streamed answers of each API family, built from text and tool-argument deltas, and parsed back.

A fake model echoes a placeholder in every way a stream can split it: ``split_deltas`` puts
each split position of the placeholder across two consecutive deltas, and ``chunked`` cuts the
encoded events at a moving byte position, so one response covers every split.
``assemble`` is what a client does with the stream: concatenate the deltas of each block.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

FAMILIES = ("anthropic", "openai-chat", "openai-responses", "gemini")


def split_deltas(placeholder: str, before: str = "key=", after: str = ";") -> list[str]:
    """Deltas whose concatenation repeats ``before + placeholder + after`` once per split."""
    deltas: list[str] = []
    for cut in range(len(placeholder) + 1):
        deltas += [before + placeholder[:cut], placeholder[cut:] + after]
    return deltas


def _sse(doc: dict[str, Any], named: bool) -> bytes:
    head = f"event: {doc['type']}\n" if named else ""
    return f"{head}data: {json.dumps(doc)}\n\n".encode()


def _anthropic(text: list[str], args: list[str]) -> list[bytes]:
    docs: list[dict[str, Any]] = [
        {"type": "message_start", "message": {"id": "msg_1", "type": "message",
                                              "role": "assistant", "content": []}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        *({"type": "content_block_delta", "index": 0,
           "delta": {"type": "text_delta", "text": t}} for t in text),
        {"type": "content_block_stop", "index": 0},
        {"type": "content_block_start", "index": 1, "content_block": {
            "type": "tool_use", "id": "toolu_1", "name": "Write", "input": {}}},
        *({"type": "content_block_delta", "index": 1,
           "delta": {"type": "input_json_delta", "partial_json": a}} for a in args),
        {"type": "content_block_stop", "index": 1},
        {"type": "message_delta", "delta": {"stop_reason": "tool_use"}},
        {"type": "message_stop"},
    ]  # fmt: skip
    return [_sse(d, True) for d in docs]


def _chat(text: list[str], args: list[str]) -> list[bytes]:
    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        doc = {"id": "c1", "object": "chat.completion.chunk", "model": "m",
               "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}  # fmt: skip
        return _sse(doc, False)

    first_call = {"index": 0, "id": "call_1", "type": "function",
                  "function": {"name": "write", "arguments": ""}}  # fmt: skip
    return [
        chunk({"role": "assistant", "content": ""}),
        *(chunk({"content": t}) for t in text),
        chunk({"tool_calls": [first_call]}),
        *(chunk({"tool_calls": [{"index": 0, "function": {"arguments": a}}]}) for a in args),
        chunk({}, "tool_calls"),
        b"data: [DONE]\n\n",
    ]


def responses_events(text: list[str], args: list[str]) -> list[dict[str, Any]]:
    """Responses (and Codex WebSocket) events: a message item, then a function call item."""
    return [
        {"type": "response.created", "response": {"id": "resp_1", "status": "in_progress"}},
        {"type": "response.output_item.added", "output_index": 0,
         "item": {"type": "message", "id": "msg_1", "role": "assistant", "content": []}},
        *({"type": "response.output_text.delta", "item_id": "msg_1", "output_index": 0,
           "content_index": 0, "delta": t} for t in text),
        {"type": "response.output_text.done", "item_id": "msg_1", "output_index": 0,
         "content_index": 0, "text": "".join(text)},
        {"type": "response.output_item.added", "output_index": 1,
         "item": {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "write",
                  "arguments": ""}},
        *({"type": "response.function_call_arguments.delta", "item_id": "fc_1",
           "output_index": 1, "delta": a} for a in args),
        {"type": "response.function_call_arguments.done", "item_id": "fc_1", "output_index": 1,
         "arguments": "".join(args)},
        {"type": "response.output_item.done", "output_index": 1,
         "item": {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "write",
                  "arguments": "".join(args)}},
        {"type": "response.completed", "response": {"id": "resp_1", "status": "completed"}},
    ]  # fmt: skip


def _gemini(text: list[str], args: list[str]) -> list[bytes]:
    def chunk(parts: list[dict[str, Any]], finish: str | None = None) -> bytes:
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
        if finish:
            candidate["finishReason"] = finish
        return f"data: {json.dumps({'candidates': [candidate]})}\r\n\r\n".encode()

    call = {"functionCall": {"name": "write", "args": json.loads("".join(args))}}
    return [*(chunk([{"text": t}]) for t in text), chunk([call], "STOP")]


def sse_events(family: str, text: list[str], args: list[str]) -> list[bytes]:
    """The encoded SSE events of one answer: ``text`` deltas, then a tool call of ``args``."""
    if family == "anthropic":
        return _anthropic(text, args)
    if family == "openai-chat":
        return _chat(text, args)
    if family == "openai-responses":
        return [_sse(d, True) for d in responses_events(text, args)]
    if family == "gemini":
        return _gemini(text, args)
    raise ValueError(family)


def chunked(events: list[bytes]) -> list[bytes]:
    """Cut the stream at a moving byte position inside each event (and between events)."""
    pieces: list[bytes] = []
    for number, event in enumerate(events):
        cut = number % (len(event) + 1)
        pieces += [p for p in (event[:cut], event[cut:]) if p]
    return pieces


def _datas(body: bytes) -> list[Any]:
    text = body.decode("utf-8").replace("\r\n", "\n")
    found = []
    for event in text.split("\n\n"):
        data = "\n".join(line[5:].strip() for line in event.split("\n") if line.startswith("data:"))
        if data and data != "[DONE]":
            found.append(json.loads(data))
    return found


def assemble_event_docs(family: str, docs: list[dict[str, Any]]) -> tuple[str, Any]:
    """What the client builds from the events: the text, and the tool call's parsed arguments."""
    text, args = "", ""
    gemini_args: Any = None
    for doc in docs:
        kind = doc.get("type", "")
        if family == "anthropic" and kind == "content_block_delta":
            text += doc["delta"].get("text", "")
            args += doc["delta"].get("partial_json", "")
        elif family == "openai-chat":
            for choice in doc["choices"]:
                text += choice["delta"].get("content") or ""
                for call in choice["delta"].get("tool_calls") or ():
                    args += call.get("function", {}).get("arguments", "")
        elif family == "openai-responses" and kind == "response.output_text.delta":
            text += doc["delta"]
        elif family == "openai-responses" and kind == "response.function_call_arguments.delta":
            args += doc["delta"]
        elif family == "gemini":
            for part in doc["candidates"][0]["content"]["parts"]:
                text += part.get("text", "")
                if "functionCall" in part:
                    gemini_args = part["functionCall"]["args"]
    return text, gemini_args if family == "gemini" else json.loads(args)


def assemble(family: str, body: bytes) -> tuple[str, Any]:
    """``assemble_event_docs`` over an SSE body."""
    return assemble_event_docs(family, _datas(body))


def split_args(placeholder: str, path: str = "config/.env") -> list[str]:
    """Tool-call arguments ``{"path", "content"}`` as JSON text deltas, cut inside the
    placeholder at every position (the n-th occurrence at position n)."""
    encoded = json.dumps({"path": path, "content": "".join(split_deltas(placeholder))})
    cuts, start = [], 0
    for cut in range(len(placeholder) + 1):
        start = encoded.index(placeholder, start)
        cuts.append(start + cut)
        start += len(placeholder)
    bounds = [0, *cuts, len(encoded)]
    return [encoded[a:b] for a, b in itertools.pairwise(bounds) if b > a]

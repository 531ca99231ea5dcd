"""Restore placeholders in streamed answers: SSE of every family, WebSocket events (pure).

Each family streams text as deltas: Anthropic ``content_block_delta`` (text, thinking and
``input_json_delta``), OpenAI chat ``choices[].delta`` (content, ``tool_calls[].function
.arguments``), Responses and Realtime ``*.delta`` events, Gemini ``candidates[].content.parts``.
Every delta stream (a *slot*) has its own :class:`TextRestorer`; what it holds back is sent
with the slot's next delta, or, when the slot ends first, as one extra delta event just
before the event that ends it. Events without deltas (``.done`` events, whole items) have
their strings restored whole. Events that need no change are passed on byte for byte.
"""

from __future__ import annotations

import copy
import json
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from egress_watch.decide.restore import Counts, Restoration, TextRestorer, dumps, restore_tree

log = logging.getLogger(__name__)
Path = tuple[str | int, ...]
SlotKey = tuple[Any, ...]
_BOUNDARY = re.compile(rb"\r\n\r\n|\n\n|\r\r")
MAX_EVENT_BYTES = 8 * 2**20
"""An SSE event longer than this is passed on unrestored rather than held."""
_ENDS_ALL = frozenset(
    {"message_stop", "message_delta", "response.completed", "response.done",
     "response.incomplete", "response.failed", "error"}
)  # fmt: skip


@dataclass
class _Delta:
    key: SlotKey
    path: Path
    escape: bool
    synth: Callable[[str], dict[str, Any]]
    """An extra event carrying only this slot's held-back text."""


def _get(document: Any, path: Path) -> Any:
    for step in path:
        document = document[step]
    return document


def _set(document: Any, path: Path, value: str) -> None:
    _get(document, path[:-1])[path[-1]] = value


def _anthropic(doc: dict[str, Any]) -> list[_Delta]:
    delta, index = doc.get("delta"), doc.get("index")
    if not isinstance(delta, dict):
        return []
    found = []
    delta_type = delta.get("type")
    for name, escape in (("text", False), ("partial_json", True), ("thinking", False)):
        if isinstance(delta.get(name), str):

            def synth(left: str, kind: Any = delta_type, name: str = name) -> dict[str, Any]:
                return {"type": "content_block_delta", "index": index,
                        "delta": {"type": kind, name: left}}  # fmt: skip

            found.append(_Delta(("a", index, name), ("delta", name), escape, synth))
    return found


def _responses(doc: dict[str, Any], kind: str) -> list[_Delta]:
    if not isinstance(doc.get("delta"), str) or ("audio" in kind and "transcript" not in kind):
        return []
    item = doc.get("item_id", doc.get("output_index"))
    key = ("r", kind, item, doc.get("content_index"), doc.get("summary_index"))
    template = {k: v for k, v in doc.items() if k != "delta"}

    def synth(left: str) -> dict[str, Any]:
        return {**copy.deepcopy(template), "delta": left}

    return [_Delta(key, ("delta",), "arguments" in kind, synth)]


def _chat(doc: dict[str, Any]) -> list[_Delta]:
    found: list[_Delta] = []
    head = {k: v for k, v in doc.items() if k in {"id", "object", "created", "model"}}
    for ci, choice in enumerate(doc["choices"]):
        if not isinstance(choice, dict):
            continue
        index = choice.get("index", ci)

        def synth(delta: dict[str, Any], index: Any = index) -> Callable[[str], dict[str, Any]]:
            return lambda left: {**head, "choices": [
                {"index": index, "delta": _fill(delta, left), "finish_reason": None}]}  # fmt: skip

        if isinstance(choice.get("text"), str):  # legacy completions

            def legacy(left: str, index: Any = index) -> dict[str, Any]:
                return {**head, "choices": [{"index": index, "text": left, "finish_reason": None}]}

            found.append(_Delta(("c", index, "text"), ("choices", ci, "text"), False, legacy))
        delta = choice.get("delta")
        if not isinstance(delta, dict):
            continue
        for name in ("content", "reasoning_content", "reasoning"):
            if isinstance(delta.get(name), str):
                found.append(_Delta(("c", index, name), ("choices", ci, "delta", name), False,
                                    synth({name: None})))  # fmt: skip
        for ti, call in enumerate(delta.get("tool_calls") or ()):
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict) and isinstance(function.get("arguments"), str):
                number = call.get("index", ti)
                shape = {"tool_calls": [{"index": number, "function": {"arguments": None}}]}
                path = ("choices", ci, "delta", "tool_calls", ti, "function", "arguments")
                found.append(_Delta(("c", index, "tool", number), path, True, synth(shape)))
    return found


def _fill(shape: Any, left: str) -> Any:
    """``shape`` with its one None leaf set to ``left``."""
    if shape is None:
        return left
    if isinstance(shape, list):
        return [_fill(item, left) for item in shape]
    if isinstance(shape, dict):
        return {k: _fill(v, left) if v is None or isinstance(v, dict | list) else v
                for k, v in shape.items()}  # fmt: skip
    return shape


def _gemini(doc: dict[str, Any], base: Path) -> list[_Delta]:
    found: list[_Delta] = []
    body = _get(doc, base)
    for ci, candidate in enumerate(body["candidates"]):
        content = candidate.get("content") if isinstance(candidate, dict) else None
        parts = content.get("parts") if isinstance(content, dict) else None
        for pi, part in enumerate(parts if isinstance(parts, list) else ()):
            if not isinstance(part, dict) or not isinstance(part.get("text"), str):
                continue
            index, thought = candidate.get("index", ci), bool(part.get("thought"))

            def synth(left: str, index: Any = index, thought: bool = thought) -> dict[str, Any]:
                text_part: dict[str, Any] = {"text": left, **({"thought": True} if thought else {})}
                inner = {"candidates": [{"index": index, "content": {
                    "role": "model", "parts": [text_part]}}]}  # fmt: skip
                return {"response": inner} if base else inner

            path = (*base, "candidates", ci, "content", "parts", pi, "text")
            found.append(_Delta(("g", index, thought), path, False, synth))
    return found


def _gemini_base(doc: dict[str, Any]) -> Path | None:
    if isinstance(doc.get("candidates"), list):
        return ()
    inner = doc.get("response")  # Code Assist (Gemini CLI) wraps the GenerateContent response
    if isinstance(inner, dict) and isinstance(inner.get("candidates"), list):
        return ("response",)
    return None


def deltas_of(doc: dict[str, Any]) -> list[_Delta]:
    """The delta strings an event carries, recognised by the event's shape."""
    kind = doc.get("type")
    if kind == "content_block_delta":
        return _anthropic(doc)
    if isinstance(kind, str) and kind.endswith(".delta"):
        return _responses(doc, kind)
    if isinstance(doc.get("choices"), list):
        return _chat(doc)
    base = _gemini_base(doc)
    return _gemini(doc, base) if base is not None else []


def ended_by(doc: dict[str, Any], open_keys: Iterable[SlotKey]) -> list[SlotKey]:
    """The open slots that this event closes: their held-back text must go out now."""
    kind = doc.get("type")
    keys = list(open_keys)
    if kind in _ENDS_ALL:
        return keys
    if kind == "content_block_stop":
        return [k for k in keys if k[0] == "a" and k[1] == doc.get("index")]
    if isinstance(kind, str) and kind.endswith(".done"):
        item = doc.get("item_id", doc.get("output_index"))
        content = doc.get("content_index")
        return [k for k in keys if k[0] == "r" and k[2] == item
                and (content is None or k[3] in (None, content))]  # fmt: skip
    finished: set[Any] = set()
    base = _gemini_base(doc)
    choices = doc.get("choices") if base is None else _get(doc, base).get("candidates")
    reason = "finish_reason" if base is None else "finishReason"
    for ci, choice in enumerate(choices if isinstance(choices, list) else ()):
        if isinstance(choice, dict) and choice.get(reason):
            finished.add(choice.get("index", ci))
    return [k for k in keys if k[0] in {"c", "g"} and k[1] in finished]


class EventRestorer:
    """Restores a sequence of JSON events (one response's SSE, or a WebSocket's messages)."""

    def __init__(
        self, restoration: Restoration, on_response_id: Callable[[str], None] | None = None
    ) -> None:
        self.restoration = restoration
        self.counts = Counts()
        self._slots: dict[SlotKey, tuple[TextRestorer, _Delta]] = {}
        self._on_response_id = on_response_id

    def quiet(self) -> bool:
        """Nothing held and no placeholder start seen lately: an event without one can pass."""
        return all(
            not restorer.pending and not restorer.recent_bracket
            for restorer, _ in self._slots.values()
        )

    def event(self, doc: dict[str, Any]) -> tuple[list[dict[str, Any]], bool]:
        """The events to send for ``doc``, in order, and whether anything changed."""
        restoration = self.restoration
        if self._on_response_id is not None and doc.get("type") == "response.created":
            created = doc.get("response")
            if isinstance(created, dict) and isinstance(created.get("id"), str):
                self._on_response_id(created["id"])
        deltas = deltas_of(doc)
        fed: dict[SlotKey, _Delta] = {}
        changed = False
        for delta in deltas:
            text = _get(doc, delta.path)
            slot = self._slots.get(delta.key)
            if slot is None:
                slot = self._slots[delta.key] = (TextRestorer(delta.escape), delta)
            restorer = slot[0]
            self._slots[delta.key] = (restorer, delta)
            emitted = restorer.feed(text, restoration)
            if emitted != text:
                _set(doc, delta.path, emitted)
                changed = True
            fed[delta.key] = delta
        before = self.counts.restored + self.counts.unrestored
        if not deltas:
            doc = restore_tree(doc, restoration, self.counts)
            changed = self.counts.restored + self.counts.unrestored > before
        extra: list[dict[str, Any]] = []
        for key in ended_by(doc, self._slots):
            restorer, delta = self._slots.pop(key)
            left = restorer.flush(restoration)
            self.counts.add(restorer.counts)
            if not left:
                continue
            changed = True
            if key in fed:  # the closing event carries this slot's text itself
                _set(doc, delta.path, _get(doc, delta.path) + left)
            else:
                extra.append(delta.synth(left))
        return [*extra, doc], changed

    def finish(self) -> list[dict[str, Any]]:
        """Extra delta events for whatever is still held when the stream ends."""
        extra = []
        for restorer, delta in self._slots.values():
            left = restorer.flush(self.restoration)
            self.counts.add(restorer.counts)
            if left:
                extra.append(delta.synth(left))
        self._slots.clear()
        return extra


class SseRestorer:
    """A mitmproxy response stream callable: SSE in, SSE with placeholders restored out.

    Only an incomplete event is held (to parse it whole); ``on_done`` gets the counts once
    the stream ends.
    """

    def __init__(
        self,
        restoration: Restoration,
        on_done: Callable[[Counts], None] | None = None,
        on_response_id: Callable[[str], None] | None = None,
    ) -> None:
        self.events = EventRestorer(restoration, on_response_id)
        self._buffer = b""
        self._on_done = on_done
        self._scanned = 0
        self._newline = b"\n"
        self._named = False
        """Whether the stream names its events (``event:`` lines): extra events do too."""

    def __call__(self, chunk: bytes) -> list[bytes]:
        if not chunk:
            return self._end()
        self._buffer += chunk
        out: list[bytes] = []
        while (found := _BOUNDARY.search(self._buffer, max(0, self._scanned - 3))) is not None:
            raw, self._buffer = self._buffer[: found.end()], self._buffer[found.end() :]
            self._scanned = 0
            out.extend(self._event(raw))
        self._scanned = len(self._buffer)
        if len(self._buffer) > MAX_EVENT_BYTES:  # not SSE after all: stop holding it
            out.append(self._buffer)
            self._buffer = b""
            self._scanned = 0
        return out

    def _end(self) -> list[bytes]:
        out = self._event(self._buffer) if self._buffer else []
        self._buffer = b""
        out.extend(self._encode(doc, self._named) for doc in self.events.finish())
        if self._on_done is not None:
            self._on_done(self.events.counts)
            self._on_done = None
        return [chunk for chunk in out if chunk]

    def _event(self, raw: bytes) -> list[bytes]:
        """One event restored; should restoring fail, the event goes on as it came."""
        try:
            return self._restore_event(raw)
        except Exception as error:  # a restorer bug must never break the answer
            log.error("egress-watch: could not restore an event (%s)", type(error).__name__)
            return [raw]

    def _restore_event(self, raw: bytes) -> list[bytes]:
        if (
            not self.events.restoration.may_touch(raw)
            and self.events.quiet()
            and b"response.created" not in raw
        ):
            return [raw]  # the common case: no placeholder can start or continue here
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return [raw]
        lines = text.splitlines()
        data = [line[5:].removeprefix(" ") for line in lines if line.startswith("data:")]
        if not data:
            return [raw]
        self._newline = b"\r\n" if b"\r\n" in raw else b"\n"
        self._named = self._named or any(line.startswith("event:") for line in lines)
        payload = "\n".join(data)
        if payload.strip() == "[DONE]":
            return [*(self._encode(doc, self._named) for doc in self.events.finish()), raw]
        try:
            doc = json.loads(payload)
        except ValueError:
            return [raw]
        if not isinstance(doc, dict):
            return [raw]
        docs, changed = self.events.event(doc)
        if not changed:
            return [raw]
        *extra, current = docs
        others = [line for line in lines if line and not line.startswith("data:")]
        return [*(self._encode(d, self._named) for d in extra), self._encode(current, None, others)]

    def _encode(
        self, doc: dict[str, Any], named: bool | None, lines: list[str] | None = None
    ) -> bytes:
        """One SSE event; extra events get an ``event:`` line when the stream uses them."""
        nl = self._newline
        head = [line.encode() for line in lines or ()]
        if named and isinstance(doc.get("type"), str):
            head = [b"event: " + doc["type"].encode()]
        return b"".join(line + nl for line in [*head, b"data: " + dumps(doc)]) + nl

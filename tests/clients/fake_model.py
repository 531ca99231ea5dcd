"""A fake model for real AI CLIs: answers an agent's first turn with a tool call reading a file.

One responder speaks Anthropic Messages (JSON and SSE), OpenAI chat completions (also DashScope's
OpenAI-compatible mode) and Responses (JSON, SSE and the Responses WebSocket), and Gemini
``generateContent`` / ``streamGenerateContent``. It picks the tool from what the client
offers: a read-file tool when there is one (its path argument named as the tool's schema names
it), else a shell tool that runs ``cat``. After the tool result comes back it answers ``DONE_TEXT``.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

from tests.support.servers import RecordedRequest, UpstreamResponse

DONE_TEXT = "I read the file."
READ_TOOLS = ("Read", "read_file", "ReadFile", "read", "view")
SHELL_TOOLS = ("shell", "exec_command", "Bash", "run_shell_command", "local_shell", "bash")
PATH_ARGS = ("file_path", "absolute_path", "path", "filePath", "filename")


def _sse(events: list[tuple[str | None, dict[str, Any]]]) -> list[bytes]:
    out = []
    for name, data in events:
        head = f"event: {name}\n" if name else ""
        out.append(f"{head}data: {json.dumps(data)}\n\n".encode())
    return out


def _properties(schema: Any) -> dict[str, Any]:
    if isinstance(schema, dict):
        props = schema.get("properties")
        if isinstance(props, dict):
            return props
    return {}


@dataclass
class ToolChoice:
    """The tool call the model makes: its name and arguments."""

    name: str
    arguments: dict[str, Any]


def choose(tools: list[tuple[str, Any]], target: str) -> ToolChoice | None:
    """A read of ``target`` with a read tool, else ``cat`` with a shell tool, else None."""
    by_name = dict(tools)
    for name in READ_TOOLS:
        if name in by_name:
            props = _properties(by_name[name])
            arg = next((a for a in PATH_ARGS if a in props), "file_path")
            return ToolChoice(name, {arg: target})
    for name in SHELL_TOOLS:
        if name in by_name:
            props = _properties(by_name[name])
            arg = next((a for a in ("command", "cmd") if a in props), "command")
            spec = props.get(arg, {})
            kind = spec.get("type") if isinstance(spec, dict) else None
            value: Any = ["cat", target] if kind == "array" else f"cat {target}"
            return ToolChoice(name, {arg: value})
    return None


@dataclass
class FakeModel:
    """Thread-safe responder for ``UpstreamServer(respond=...)``; records what it was asked."""

    target: str
    """The file the tool call reads (absolute path)."""
    calls: list[ToolChoice] = field(default_factory=list)
    tool_results: list[str] = field(default_factory=list)
    websocket_turns: int = 0
    echo: bool = False
    """Without tools, answer ``DONE_TEXT`` plus the user's last words (a placeholder comes back,
    so a test sees restore give the client its value again)."""
    """Responses turns that came over the WebSocket (Codex's first choice)."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, request: RecordedRequest) -> UpstreamResponse | None:
        path = request.path.split("?", 1)[0]
        if (request.header("upgrade") or "").lower() == "websocket":
            if path.endswith("/responses"):  # Codex's Responses WebSocket
                return UpstreamResponse(101, websocket=self._responses_socket)
            return UpstreamResponse.json({"error": {"message": "no websocket here"}}, 404)
        if request.method != "POST":
            return UpstreamResponse.json({"object": "list", "data": []})
        try:
            body = request.json()
        except ValueError:
            return UpstreamResponse.json({})
        if not isinstance(body, dict):
            return UpstreamResponse.json({})
        if path.endswith("/count_tokens") or ":countTokens" in path:
            return UpstreamResponse.json({"input_tokens": 10, "totalTokens": 10})
        if path.endswith("/v1/messages"):
            return self._anthropic(body)
        if path.endswith("/chat/completions"):
            return self._chat(body)
        if path.endswith("/responses"):
            return self._responses(body)
        if ":generateContent" in path or ":streamGenerateContent" in path:
            return self._gemini(body, "streamGenerateContent" in path)
        return None

    # -- decisions ---------------------------------------------------------------------------

    def _decide(self, tools: list[tuple[str, Any]], answered: str | None) -> ToolChoice | None:
        """The first turn (no tool result yet) calls a tool; any later turn answers."""
        with self.lock:
            if answered is not None:
                self.tool_results.append(answered)
                return None
            if self.calls:  # a second request of the same first turn (title, summary…)
                return None
            choice = choose(tools, self.target)
            if choice is not None:
                self.calls.append(choice)
            return choice

    def _answer(self, messages: Any) -> str:
        """``DONE_TEXT``, followed by the last user message's text when echoing."""
        if not self.echo or not isinstance(messages, list) or not messages:
            return DONE_TEXT
        content = messages[-1].get("content") if isinstance(messages[-1], dict) else None
        if isinstance(content, list):
            content = " ".join(str(b.get("text", "")) for b in content if isinstance(b, dict))
        return f"{DONE_TEXT} You said: {content}"

    # -- Anthropic ---------------------------------------------------------------------------

    def _anthropic(self, body: dict[str, Any]) -> UpstreamResponse:
        tools = [(t.get("name", ""), t.get("input_schema")) for t in body.get("tools") or ()]
        result = None
        for message in body.get("messages") or ():
            for block in message.get("content") if isinstance(message.get("content"), list) else ():
                if isinstance(block, dict) and block.get("type") == "tool_result":
                    result = json.dumps(block.get("content"))
        choice = self._decide(tools, result) if tools else None
        content: list[dict[str, Any]]
        if choice is not None:
            content = [{"type": "tool_use", "id": "toolu_fake1", "name": choice.name,
                        "input": choice.arguments}]  # fmt: skip
        else:
            content = [{"type": "text", "text": self._answer(body.get("messages"))}]
        message = {"id": "msg_fake", "type": "message", "role": "assistant",
                   "model": body.get("model", "claude-fake"), "content": content,
                   "stop_reason": "tool_use" if choice else "end_turn", "stop_sequence": None,
                   "usage": {"input_tokens": 10, "output_tokens": 5}}  # fmt: skip
        if not body.get("stream"):
            return UpstreamResponse.json(message)
        events: list[tuple[str | None, dict[str, Any]]] = [
            ("message_start", {"type": "message_start", "message": {**message, "content": [],
                               "stop_reason": None}})]  # fmt: skip
        block = content[0]
        if block["type"] == "tool_use":
            start = {**block, "input": {}}
            delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
        else:
            start = {"type": "text", "text": ""}
            delta = {"type": "text_delta", "text": block["text"]}
        events += [
            ("content_block_start", {"type": "content_block_start", "index": 0,
                                     "content_block": start}),
            ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta}),
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
            ("message_delta", {"type": "message_delta", "delta": {
                "stop_reason": message["stop_reason"], "stop_sequence": None},
                "usage": {"output_tokens": 5}}),
            ("message_stop", {"type": "message_stop"}),
        ]  # fmt: skip
        return UpstreamResponse(200, headers={"Content-Type": "text/event-stream"},
                                chunks=_sse(events))  # fmt: skip

    # -- OpenAI chat (and DashScope's compatible mode) ----------------------------------------

    def _chat(self, body: dict[str, Any]) -> UpstreamResponse:
        tools = [
            (t["function"].get("name", ""), t["function"].get("parameters"))
            for t in body.get("tools") or ()
            if isinstance(t, dict) and isinstance(t.get("function"), dict)
        ]
        result = next(
            (str(m.get("content")) for m in body.get("messages") or () if m.get("role") == "tool"),
            None,
        )
        choice = self._decide(tools, result) if tools else None
        model = body.get("model", "gpt-fake")
        call = None
        if choice is not None:
            call = {"id": "call_fake1", "type": "function", "function": {
                "name": choice.name, "arguments": json.dumps(choice.arguments)}}  # fmt: skip
        finish = "tool_calls" if call else "stop"
        if not body.get("stream"):
            answer = None if call else self._answer(body.get("messages"))
            message: dict[str, Any] = {"role": "assistant", "content": answer}
            if call:
                message["tool_calls"] = [call]
            return UpstreamResponse.json({
                "id": "chatcmpl-fake", "object": "chat.completion", "created": 1_700_000_000,
                "model": model, "choices": [{"index": 0, "message": message,
                                              "finish_reason": finish}],
                "usage": {"prompt_tokens": 10, "completion_tokens": 5,
                          "total_tokens": 15}})  # fmt: skip
        delta: dict[str, Any] = {"role": "assistant"}
        if call:
            delta["tool_calls"] = [{"index": 0, **call}]
        else:
            delta["content"] = self._answer(body.get("messages"))
        chunk = {"id": "chatcmpl-fake", "object": "chat.completion.chunk",
                 "created": 1_700_000_000, "model": model}  # fmt: skip
        events: list[tuple[str | None, dict[str, Any]]] = [
            (None, {**chunk, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}),
            (None, {**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 5,
                              "total_tokens": 15}}),
        ]  # fmt: skip
        return UpstreamResponse(200, headers={"Content-Type": "text/event-stream"},
                                chunks=[*_sse(events), b"data: [DONE]\n\n"])  # fmt: skip

    # -- OpenAI Responses ----------------------------------------------------------------------

    def _responses(self, body: dict[str, Any]) -> UpstreamResponse:
        response, events = self._responses_events(body)
        if not body.get("stream"):
            return UpstreamResponse.json(response)
        return UpstreamResponse(200, headers={"Content-Type": "text/event-stream"},
                                chunks=_sse([(e["type"], e) for e in events]))  # fmt: skip

    def _responses_socket(self, text: str) -> list[str]:
        """One ``response.create`` message in, the same events as the SSE stream out."""
        try:
            message = json.loads(text)
        except ValueError:
            return []
        if not isinstance(message, dict) or message.get("type") != "response.create":
            return []
        body = message["response"] if isinstance(message.get("response"), dict) else message
        if body.get("generate") is False:  # a prewarm: Codex opens the turn's context early
            done = {"id": "resp_warm", "object": "response", "status": "completed",
                    "output": [], "model": body.get("model", "gpt-fake")}  # fmt: skip
            return [json.dumps({"type": "response.created", "response": done}),
                    json.dumps({"type": "response.completed", "response": done})]  # fmt: skip
        self.websocket_turns += 1
        return [json.dumps(event) for event in self._responses_events(body)[1]]

    def _responses_events(
        self, body: dict[str, Any]
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        tools = [
            (t.get("name", t.get("type", "")), t.get("parameters"))
            for t in body.get("tools") or ()
            if isinstance(t, dict)
        ]
        items = body.get("input") if isinstance(body.get("input"), list) else []
        result = next(
            (str(i.get("output")) for i in items
             if isinstance(i, dict) and i.get("type") == "function_call_output"),
            None,
        )  # fmt: skip
        choice = self._decide(tools, result) if tools else None
        if choice is not None:
            item: dict[str, Any] = {"type": "function_call", "id": "fc_fake1",
                                    "call_id": "call_fake1", "name": choice.name,
                                    "arguments": json.dumps(choice.arguments),
                                    "status": "completed"}  # fmt: skip
        else:
            item = {"type": "message", "id": "msg_fake1", "role": "assistant",
                    "status": "completed", "content": [
                        {"type": "output_text", "text": DONE_TEXT, "annotations": []}]}  # fmt: skip
        response = {"id": "resp_fake", "object": "response", "created_at": 1_700_000_000,
                    "status": "completed", "model": body.get("model", "gpt-fake"),
                    "output": [item], "usage": {"input_tokens": 10, "output_tokens": 5,
                                                "total_tokens": 15}}  # fmt: skip
        events = [
            {"type": "response.created",
             "response": {**response, "status": "in_progress", "output": []}},
            {"type": "response.output_item.added", "output_index": 0, "item": item},
            {"type": "response.output_item.done", "output_index": 0, "item": item},
            {"type": "response.completed", "response": response},
        ]  # fmt: skip
        return response, events

    # -- Gemini --------------------------------------------------------------------------------

    def _gemini(self, body: dict[str, Any], stream: bool) -> UpstreamResponse:
        tools = [
            (d.get("name", ""), d.get("parameters") or d.get("parametersJsonSchema"))
            for t in body.get("tools") or ()
            if isinstance(t, dict)
            for d in t.get("functionDeclarations") or t.get("function_declarations") or ()
        ]
        result = None
        for content in body.get("contents") or ():
            for part in content.get("parts") or () if isinstance(content, dict) else ():
                if isinstance(part, dict) and "functionResponse" in part:
                    result = json.dumps(part["functionResponse"])
        choice = self._decide(tools, result) if tools else None
        part: dict[str, Any]
        if choice is not None:
            part = {"functionCall": {"name": choice.name, "args": choice.arguments}}
        else:
            part = {"text": DONE_TEXT}
        answer = {"candidates": [{"content": {"role": "model", "parts": [part]},
                                  "finishReason": "STOP", "index": 0}],
                  "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5,
                                    "totalTokenCount": 15},
                  "modelVersion": "gemini-fake"}  # fmt: skip
        if not stream:
            return UpstreamResponse.json(answer)
        return UpstreamResponse(200, headers={"Content-Type": "text/event-stream"},
                                chunks=_sse([(None, answer)]))  # fmt: skip

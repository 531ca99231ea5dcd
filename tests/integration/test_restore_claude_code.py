"""The real Claude Code CLI through the proxy in redact mode, against a fake Anthropic model.

The model only ever sees a placeholder; it asks Claude Code to write a file containing that
placeholder (a streamed ``Write`` tool call, the placeholder split across argument deltas);
the file Claude Code writes on disk holds the real value. Skipped when ``claude`` is not
installed (``npm install -g @anthropic-ai/claude-code``, or set ``EGRESS_WATCH_CLAUDE``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from egress_watch.paths import HomePaths
from tests.clients.conftest import client_bin
from tests.conftest import fake_aws_key_id
from tests.integration.conftest import start_proxy
from tests.support.servers import (
    ConnectProxy,
    RecordedRequest,
    TestCA,
    UpstreamResponse,
    UpstreamServer,
)

pytestmark = pytest.mark.slow

_PINNED = client_bin("claude")  # the pinned CLI .ci/run installs for tests/clients
CLAUDE = (
    os.environ.get("EGRESS_WATCH_CLAUDE")
    or (str(_PINNED) if _PINNED is not None else None)
    or shutil.which("claude")
)
PLACEHOLDER = re.compile(r"\[REDACTED:[a-z0-9-]+:[0-9a-f]+\]")


def _sse(docs: list[dict[str, Any]]) -> list[bytes]:
    return [f"event: {d['type']}\ndata: {json.dumps(d)}\n\n".encode() for d in docs]


def _message(blocks: list[list[dict[str, Any]]], stop: str) -> list[dict[str, Any]]:
    start = {"type": "message_start", "message": {
        "id": "msg_fake", "type": "message", "role": "assistant", "model": "claude-fake",
        "content": [], "stop_reason": None, "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 1}}}  # fmt: skip
    end = [{"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
            "usage": {"output_tokens": 10}}, {"type": "message_stop"}]  # fmt: skip
    return [start, *(doc for block in blocks for doc in block), *end]


def _text_block(index: int, text: str) -> list[dict[str, Any]]:
    return [
        {"type": "content_block_start", "index": index,
         "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": index,
         "delta": {"type": "text_delta", "text": text}},
        {"type": "content_block_stop", "index": index},
    ]  # fmt: skip


def _write_block(index: int, path: str, placeholder: str) -> list[dict[str, Any]]:
    arguments = json.dumps({"file_path": path, "content": f"AWS_ACCESS_KEY_ID={placeholder}\n"})
    cut = arguments.index(placeholder) + len(placeholder) // 2  # split inside the placeholder
    pieces = [arguments[:cut], arguments[cut:]]
    return [
        {"type": "content_block_start", "index": index, "content_block": {
            "type": "tool_use", "id": "toolu_fake1", "name": "Write", "input": {}}},
        *({"type": "content_block_delta", "index": index,
           "delta": {"type": "input_json_delta", "partial_json": p}} for p in pieces),
        {"type": "content_block_stop", "index": index},
    ]  # fmt: skip


class FakeClaude:
    """Asks for a Write of the placeholder once; says it is done after the tool result."""

    def __init__(self, target: Path) -> None:
        self.target = target
        self.asked_write = False

    def __call__(self, request: RecordedRequest) -> UpstreamResponse:
        if request.method != "POST" or not request.path.startswith("/v1/messages"):
            return UpstreamResponse.json({"data": []})
        payload = request.json()
        text = request.body.decode()
        if "count_tokens" in request.path:
            return UpstreamResponse.json({"input_tokens": 10})
        found = PLACEHOLDER.findall(text)
        tools = {t.get("name") for t in payload.get("tools") or ()}
        if found and "Write" in tools and not self.asked_write:
            self.asked_write = True
            docs = _message([_write_block(0, str(self.target), found[0])], "tool_use")
        else:
            docs = _message([_text_block(0, "Done.")], "end_turn")
        if not payload.get("stream"):
            done = [{"type": "text", "text": "Done."}]
            return UpstreamResponse.json(
                {**docs[0]["message"], "stop_reason": "end_turn", "content": done}
            )
        return UpstreamResponse(200, headers={"Content-Type": "text/event-stream"},
                                chunks=_sse(docs))  # fmt: skip


@pytest.mark.skipif(CLAUDE is None, reason="the Claude Code CLI (claude) is not installed")
def test_claude_code_writes_the_real_value_while_the_model_only_saw_a_placeholder(
    tmp_path: Path, test_ca: TestCA, ew_home: HomePaths
) -> None:
    assert CLAUDE is not None
    key = fake_aws_key_id()
    project = tmp_path / "project"
    (project / "config").mkdir(parents=True)
    target = project / "config" / ".env"
    model = FakeClaude(target)
    with (
        UpstreamServer(test_ca, respond=model) as upstream,
        ConnectProxy(("127.0.0.1", upstream.port)) as tunnel,
        start_proxy(tmp_path, test_ca, ew_home, "--mode", "redact", upstream=tunnel) as proxy,
    ):
        home = tmp_path / "home"
        home.mkdir()
        env = {
            "PATH": os.environ["PATH"], "HOME": str(home), "HTTPS_PROXY": proxy.url,
            "NODE_EXTRA_CA_CERTS": str(proxy.paths.ca_cert),
            "ANTHROPIC_API_KEY": "-".join(["fake", "test", "key"]),
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "DISABLE_AUTOUPDATER": "1",
            "DISABLE_TELEMETRY": "1", "DISABLE_ERROR_REPORTING": "1",
        }  # fmt: skip
        result = subprocess.run(
            [CLAUDE, "-p", f"Save my AWS access key {key} to config/.env",
             "--allowedTools", "Write", "--permission-mode", "acceptEdits",
             "--model", "claude-sonnet-4-5"],
            cwd=project, env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        received = [r.body.decode() for r in upstream.requests]
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert model.asked_write, "Claude Code never sent the prompt to the fake model"
    assert target.read_text() == f"AWS_ACCESS_KEY_ID={key}\n"
    assert all(key not in body for body in received)
    assert any(PLACEHOLDER.search(body) for body in received)

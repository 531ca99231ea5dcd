"""A Responses WebSocket message after the first carries only a call's output: the file comes
from the call the server announced earlier on the same socket."""

from __future__ import annotations

import json
from pathlib import Path

from egress_watch.catalog.services import builtin_catalog
from egress_watch.classify.engine import Engine
from egress_watch.config.settings import Settings
from egress_watch.extract.responses import server_call_hint
from egress_watch.model import Capture
from egress_watch.pipeline import Inspector, Policy
from tests.conftest import fake_aws_key_id, fake_aws_secret

ANNOUNCED = {"type": "response.output_item.done", "output_index": 0, "item": {
    "type": "function_call", "call_id": "call_7", "name": "exec_command",
    "arguments": json.dumps({"cmd": "cat /src/app/config/deploy.ini"})}}  # fmt: skip


def test_the_server_announced_call_names_its_file() -> None:
    assert server_call_hint(ANNOUNCED) == ("call_7", "/src/app/config/deploy.ini")
    assert server_call_hint({"type": "response.output_text.delta", "delta": "x"}) is None
    assert server_call_hint({**ANNOUNCED, "item": {"type": "message"}}) is None


def test_a_later_message_gets_the_path_of_its_output(tmp_path: Path) -> None:
    output = f"aws_access_key_id = {fake_aws_key_id()}\naws_secret_access_key = {fake_aws_secret()}"
    message = {"type": "response.create", "model": "gpt-5-codex", "previous_response_id": "r1",
               "input": [{"type": "function_call_output", "call_id": "call_7",
                          "output": output}]}  # fmt: skip
    capture = Capture("WS", "https", "api.openai.com", 443, "/v1/responses", (),
                      json.dumps(message).encode())  # fmt: skip
    catalog = builtin_catalog()
    route = catalog.route(capture.host, capture.path)
    assert route is not None
    inspector = Inspector(catalog, Engine.configured(b"k" * 32, Settings(), tmp_path), Policy())
    hints = {"call_7": "/src/app/config/deploy.ini"}
    found = inspector.inspect(capture, route, call_hints=hints).event.findings
    assert {(f.rule, f.role, f.path_hint) for f in found} == {
        ("aws-access-key", "tool_result", "/src/app/config/deploy.ini"),
        ("aws-secret-key", "tool_result", "/src/app/config/deploy.ini"),
    }
    unhinted = inspector.inspect(capture, route).event.findings
    assert {f.path_hint for f in unhinted} == {None}

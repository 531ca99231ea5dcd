"""``egress-watch scan --har``: saved traffic (HAR 1.2, mitmproxy flow files) through the proxy's
own route → decode → extract → classify, with every text found and no secret printed."""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from egress_watch.cli.main import cli
from tests.conftest import fake_aws_key_id
from tests.fixtures.wire.cases import CASES, WireCase, bearer, planted


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout


def har_entry(case: WireCase) -> dict[str, Any]:
    try:
        post = {"mimeType": case.content_type, "text": case.body.decode("utf-8")}
    except UnicodeDecodeError:
        post = {
            "mimeType": case.content_type,
            "text": base64.b64encode(case.body).decode(),
            "encoding": "base64",
        }
    return {
        "request": {
            "method": "POST",
            "url": f"https://{case.host}{case.path}",
            "headers": [
                {"name": "Authorization", "value": f"Bearer {bearer()}"},
                {"name": "Content-Type", "value": case.content_type},
            ],
            "postData": post,
        }
    }


def write_har(path: Path, entries: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps({"log": {"version": "1.2", "entries": entries}}))
    return path


@pytest.fixture
def har(tmp_path: Path) -> Path:
    extras = [
        {"request": {"method": "GET", "url": "https://example.org/logo.png", "headers": []}},
        {
            "request": {
                "method": "POST",
                "url": f"https://llm.unknown.example/v1/x?key={bearer()}",
                "headers": [],
                "postData": {"text": '{"prompt": "shadow prompt"}'},
            }
        },
    ]
    return write_har(tmp_path / "session.har", [har_entry(c) for c in CASES] + extras)


def entries(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines()]


def test_every_fixture_text_is_found_and_secrets_only_masked(har: Path) -> None:
    code, out = invoke("scan", "--har", str(har), "--json", "--segments")
    assert code == 1  # the planted key is a finding
    assert fake_aws_key_id() not in out
    assert bearer() not in out
    rows = entries(out)
    assert len(rows) == len(CASES) + 1  # the body-less GET to a non-AI host is skipped
    for case, row in zip(CASES, rows, strict=False):
        assert (row["service"], row["family"]) == (case.service, case.family), case.name
        texts = [s["text"] for s in row["segments"]]
        expected = [t for _, t in case.expected if planted() not in t]
        assert [
            t for t in texts if fake_aws_key_id() not in t and "[REDACTED:" not in t
        ] == expected


def test_json_contract_per_entry(har: Path) -> None:
    _, out = invoke("scan", "--har", str(har), "--json")
    first, *_, shadow = entries(out)
    assert set(first) == {
        "path",
        "entry",
        "method",
        "host",
        "url_path",
        "service",
        "family",
        "telemetry",
        "uninspected_reason",
        "segments",
        "findings",
    }
    assert first["segments"][1] == {
        "index": 1,
        "role": "user",
        "message_index": 1,
        "path_hint": None,
        "length": len(f"Deploy with {planted()}"),
    }
    finding = first["findings"][0]
    assert finding["segment"] == 1
    assert finding["category"] == "secret"
    assert 0 <= finding["start"] < finding["end"] <= first["segments"][1]["length"]
    assert fake_aws_key_id() not in finding["masked"]
    assert first["segments"][3]["path_hint"] == "src/pay.py"
    assert (shadow["service"], shadow["family"], shadow["url_path"]) == (None, "auto", "/v1/x")
    assert [s["length"] for s in shadow["segments"]] == [len("shadow prompt")]


def test_uninspected_reason_is_reported(tmp_path: Path) -> None:
    case = next(c for c in CASES if c.name == "completions-token-ids")
    _, out = invoke(
        "scan", "--har", str(write_har(tmp_path / "t.har", [har_entry(case)])), "--json"
    )
    assert entries(out)[0]["uninspected_reason"] == "prompt is token ids, not text"


def test_text_output_names_service_role_and_masked_value(har: Path) -> None:
    code, out = invoke("scan", "--har", str(har), "--segments")
    assert code == 1
    assert "#0 POST api.openai.com/v1/chat/completions  openai/openai-chat" in out
    assert "[user msg 1] critical secret/" in out or "[user msg 1] high secret/" in out
    assert "--- segment 3 tool_result (src/pay.py)" in out
    assert fake_aws_key_id() not in out


def test_mitmproxy_flow_file_with_encoded_bodies(tmp_path: Path) -> None:
    from mitmproxy import http, io
    from mitmproxy.test import tflow

    chat = next(c for c in CASES if c.name == "openai-chat")
    cursor = next(c for c in CASES if c.name == "cursor-stream-cpp")
    flows = []
    for case, encoding in ((chat, "gzip"), (cursor, None)):
        headers = {"content-type": case.content_type, "authorization": f"Bearer {bearer()}"}
        if encoding:
            headers["content-encoding"] = encoding
        request = http.Request.make("POST", f"https://{case.host}{case.path}", b"", headers)
        request.raw_content = gzip.compress(case.body) if encoding else case.body
        flows.append(tflow.tflow(req=request))
    path = tmp_path / "flows.mitm"
    with path.open("wb") as handle:
        writer = io.FlowWriter(handle)
        for flow in flows:
            writer.add(flow)
    code, out = invoke("scan", "--har", str(path), "--json", "--segments")
    assert code == 1
    rows = entries(out)
    assert [r["service"] for r in rows] == ["openai", "cursor"]
    assert rows[0]["segments"][3]["text"] == chat.expected[3][1]
    assert [s["text"] for s in rows[1]["segments"]] == [t for _, t in cursor.expected]
    assert bearer() not in out
    assert fake_aws_key_id() not in out


def test_not_a_saved_traffic_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.har"
    bad.write_text('{"not": "a har"}')
    result = CliRunner().invoke(cli, ["scan", "--har", str(bad)])
    assert result.exit_code == 1
    assert "not a HAR file (no log.entries)" in result.stderr


def test_segments_without_har_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["scan", "--segments", "-"], input="x")
    assert result.exit_code == 2


def test_services_lists_the_merged_catalog(ew_home: Any) -> None:
    ew_home.home.mkdir(parents=True, exist_ok=True)
    ew_home.config.write_text(
        '[[services]]\nid = "corp"\nname = "Corp gateway"\nhosts = ["llm.corp.example"]\n'
        'profile = "openai-compatible"\n'
    )
    code, out = invoke("services", "--json")
    assert code == 0
    services = json.loads(out)
    assert services[0]["id"] == "corp"
    assert {"path": "*/chat/completions", "family": "openai-chat", "telemetry": False} in (
        services[0]["endpoints"]
    )
    by_id = {s["id"]: s for s in services}
    assert by_id["copilot-telemetry"]["telemetry"] is True
    assert "cursor" in by_id
    _, text = invoke("services")
    assert text.splitlines()[0].startswith("corp ")
    assert "Corp gateway: llm.corp.example" in text


def test_services_with_a_bad_config_names_the_key(ew_home: Any) -> None:
    ew_home.home.mkdir(parents=True, exist_ok=True)
    ew_home.config.write_text('[[services]]\nid = "corp"\nhosts = ["x.example"]\nfamily = "nope"\n')
    result = CliRunner().invoke(cli, ["services"])
    assert result.exit_code == 2
    assert "services[0]: service 'corp': family: unknown family 'nope'" in result.stderr


def codeium_key() -> str:
    """A Codeium/Windsurf API key: a UUID no secret rule knows, assembled at run time."""
    return "3f9c2a71" + "-" + "5b8e" + "-" + "4d0f" + "-" + "9a6c" + "-" + "e1b47d2c9f35"


def ws_entry(url: str, sent: list[str], received: list[str]) -> dict[str, Any]:
    """A HAR entry of a WebSocket as Chrome exports it (``_webSocketMessages``)."""
    messages = [
        {"type": "send", "time": 1.0 + n, "opcode": 1, "data": d} for n, d in enumerate(sent)
    ]
    messages += [{"type": "receive", "time": 9.0, "opcode": 1, "data": r} for r in received]
    return {
        "request": {"method": "GET", "url": url, "headers": [
            {"name": "Upgrade", "value": "websocket"}]},
        "response": {"status": 101},
        "_webSocketMessages": messages,
    }  # fmt: skip


def test_websocket_messages_in_a_har_are_read(tmp_path: Path) -> None:
    """Codex's Responses socket: each sent message is one request; received ones are not."""
    key = fake_aws_key_id()
    create = {"type": "response.create", "model": "gpt-5-codex", "input": [
        {"type": "message", "role": "user", "content": [
            {"type": "input_text", "text": f"use {key} to deploy"}]}]}  # fmt: skip
    echo = {"type": "response.output_text.delta", "delta": f"the key {key}"}
    socket = ws_entry("wss://api.openai.com/v1/responses", [json.dumps(create)], [json.dumps(echo)])
    path = write_har(tmp_path / "ws.har", [socket])
    code, out = invoke("scan", "--har", str(path), "--json")
    assert code == 1
    entries = [json.loads(line) for line in out.splitlines()]
    assert [(e["method"], e["service"], e["message"]) for e in entries] == [("WS", "openai", 0)]
    assert [f["rule"] for f in entries[0]["findings"]] == ["aws-access-key"]
    assert entries[0]["findings"][0]["segment"] is not None
    assert key not in out
    code, text = invoke("scan", "--har", str(path))
    assert "#0 message 0 WS api.openai.com/v1/responses" in text


def test_zed_nested_provider_bodies_are_read(tmp_path: Path) -> None:
    key = fake_aws_key_id()
    message = {"role": "user", "content": [{"type": "text", "text": f"key {key}"}]}
    inner = {"model": "claude-sonnet-4", "max_tokens": 100, "system": "You are Zed",
             "messages": [message]}  # fmt: skip
    entries = []
    for host, path in (("cloud.zed.dev", "/completions"), ("llm.zed.dev", "/completion")):
        body = {"thread_id": "t1", "prompt_id": "p1", "intent": "user_prompt",
                "provider": "anthropic", "model": "claude-sonnet-4",
                "provider_request": inner}  # fmt: skip
        entries.append({"request": {"method": "POST", "url": f"https://{host}{path}",
                        "headers": [], "postData": {"mimeType": "application/json",
                                                    "text": json.dumps(body)}}})  # fmt: skip
    code, out = invoke("scan", "--har", str(write_har(tmp_path / "zed.har", entries)), "--json")
    assert code == 1
    found = [json.loads(line) for line in out.splitlines()]
    assert [(e["service"], [f["rule"] for f in e["findings"]]) for e in found] == [
        ("zed", ["aws-access-key"]),
        ("zed", ["aws-access-key"]),
    ]
    assert all(e["segments"][e["findings"][0]["segment"]]["role"] == "user" for e in found)


def test_segments_never_print_a_credential_field(tmp_path: Path) -> None:
    """Windsurf sends its own API key in ``metadata.api_key``: no rule knows the format, so
    ``--segments`` must hide the field by its name."""
    body = {  # GetCompletions as the language server sends it with the JSON codec
        "metadata": {"ide_name": "windsurf", "extension_version": "1.48.2",
                     "api_key": codeium_key(), "locale": "en"},
        "document": {"text": "def add(a, b):\n    return a + b\n", "cursor_offset": 20,
                     "language": "python", "absolute_path": "/src/app/calc.py"},
        "editor_options": {"tab_size": 4, "insert_spaces": True},
    }  # fmt: skip
    urls = (  # Windsurf's own endpoint, and a host the catalog does not know (every string read)
        "https://server.codeium.com/exa.language_server_pb.LanguageServerService/GetCompletions",
        "https://llm.unknown.example/v1/complete",
    )
    entries = [{"request": {"method": "POST", "url": url, "headers": [], "postData": {
        "mimeType": "application/json", "text": json.dumps(body)}}} for url in urls]  # fmt: skip
    path = write_har(tmp_path / "windsurf.har", entries)
    for extra in (["--json"], []):
        _, out = invoke("scan", "--har", str(path), "--segments", *extra)
        assert codeium_key() not in out
        assert codeium_key()[:8] not in out
        assert out.count("return a + b") == 2  # the prompt itself is still shown
        assert "[credential field: not shown]" in out

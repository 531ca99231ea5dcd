"""Gemini and Vertex requests through the real pipeline: tool declarations, model, inline files."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from egress_watch.catalog.services import builtin_catalog
from egress_watch.classify.engine import Engine
from egress_watch.config.settings import Settings
from egress_watch.model import Capture, Event
from egress_watch.pipeline import Inspector, Policy
from tests.conftest import fake_aws_key_id, fake_aws_secret

GEMINI = ("generativelanguage.googleapis.com", "/v1beta/models/gemini-2.5-pro:generateContent")
VERTEX = (
    "us-central1-aiplatform.googleapis.com",
    "/v1/projects/p1/locations/us-central1/publishers/google/models/"
    "gemini-2.0-flash-001:streamGenerateContent?alt=sse",
)


def inspect(tmp_path: Path, host: str, path: str, body: dict[str, object]) -> Event:
    capture = Capture("POST", "https", host, 443, path, (("content-type", "application/json"),),
                      json.dumps(body).encode())  # fmt: skip
    catalog = builtin_catalog()
    route = catalog.route(host, path.split("?")[0])
    assert route is not None
    engine = Engine.configured(b"k" * 32, Settings(), tmp_path)
    return Inspector(catalog, engine, Policy()).inspect(capture, route).event


def credentials() -> str:
    return f"aws_access_key_id={fake_aws_key_id()} aws_secret_access_key={fake_aws_secret()}"


@pytest.mark.parametrize(("host", "path"), [GEMINI, VERTEX])
def test_function_declarations_are_tool_definitions(tmp_path: Path, host: str, path: str) -> None:
    body = {
        "contents": [{"role": "user", "parts": [{"text": "list the files"}]}],
        "tools": [{"functionDeclarations": [{
            "name": "deploy",
            "description": f"Deploys with {credentials()}",
            "parameters": {"type": "object", "properties": {"env": {"type": "string"}}},
        }]}],
    }  # fmt: skip
    event = inspect(tmp_path, host, path, body)
    roles = {f.role for f in event.findings if f.category == "secret"}
    assert roles == {"tool_definition"}
    assert event.model == path.split("/models/")[1].split(":")[0]


def test_snake_case_tools_and_the_body_model_wins(tmp_path: Path) -> None:
    body = {
        "model": "models/named-in-body",
        "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
        "tools": [{"function_declarations": [{"name": "x", "description": credentials()}]}],
    }
    event = inspect(tmp_path, *GEMINI, body)
    assert any(f.role == "tool_definition" for f in event.findings)
    assert event.model == "models/named-in-body"


@pytest.mark.parametrize(
    ("mime", "wrap"),
    [
        ("text/plain", False),
        ("text/x-dotenv", True),
        ("application/octet-stream", True),
        (None, False),
    ],
)
def test_inline_text_files_are_read(tmp_path: Path, mime: str | None, wrap: bool) -> None:
    encoded = base64.b64encode(f"# config/.env\n{credentials()}\n".encode()).decode()
    if wrap:  # MIME-style base64 with line breaks
        encoded = "\n".join(encoded[i : i + 60] for i in range(0, len(encoded), 60))
    inline: dict[str, str] = {"data": encoded}
    if mime:
        inline["mimeType"] = mime
    body = {"contents": [{"role": "user", "parts": [{"inlineData": inline}]}]}
    event = inspect(tmp_path, *GEMINI, body)
    assert {f.role for f in event.findings if f.category == "secret"} == {"file"}


def test_inline_media_is_not_read_as_text(tmp_path: Path) -> None:
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4).decode()
    body = {"contents": [{"role": "user", "parts": [
        {"inlineData": {"mimeType": "application/octet-stream", "data": png}}]}]}  # fmt: skip
    assert inspect(tmp_path, *GEMINI, body).findings == ()

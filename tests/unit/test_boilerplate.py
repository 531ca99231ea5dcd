"""A tool's own boilerplate is not reported; the same value from the user still is."""

from __future__ import annotations

import json
from pathlib import Path

from egress_watch.catalog.services import builtin_catalog
from egress_watch.classify.engine import Engine
from egress_watch.config.settings import Settings
from egress_watch.model import Capture, Event, ProcessInfo
from egress_watch.pipeline import Inspector, Policy

BASH_TOOL = (  # the commit instructions of Claude Code's Bash tool, shortened
    "Create the commit with a message ending with:\n"
    "   Co-Authored-By: Claude <noreply" + "@" + "anthropic.com>\n"
)


def claude_request(tmp_path: Path, user_text: str) -> Event:
    body = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 1024,
        "system": [{"type": "text", "text": "You are Claude Code. " + BASH_TOOL}],
        "tools": [{"name": "Bash", "description": BASH_TOOL,
                   "input_schema": {"type": "object", "properties": {}}}],
        "messages": [{"role": "user", "content": user_text}],
    }  # fmt: skip
    headers = (("content-type", "application/json"),)
    capture = Capture("POST", "https", "api.anthropic.com", 443, "/v1/messages", headers,
                      json.dumps(body).encode())  # fmt: skip
    catalog = builtin_catalog()
    route = catalog.route(capture.host, capture.path)
    assert route is not None
    engine = Engine.configured(b"k" * 32, Settings(), tmp_path)
    return Inspector(catalog, engine, Policy()).inspect(capture, route).event


def test_claude_codes_own_address_is_not_reported(tmp_path: Path) -> None:
    event = claude_request(tmp_path, "fix the failing test")
    assert event.findings == ()


def test_the_same_address_from_the_user_is_reported(tmp_path: Path) -> None:
    event = claude_request(
        tmp_path, "mail noreply" + "@" + "anthropic.com and " + "jane.doe" + "@" + "acme-corp.com"
    )
    emails = [(f.rule, f.role) for f in event.findings]
    assert emails == [("email", "user"), ("email", "user")]


def test_claude_codes_address_anywhere_in_claude_codes_own_requests(tmp_path: Path) -> None:
    """Claude Code also repeats it in reminders inside user turns: known per tool."""
    reminder = "<system-reminder>" + BASH_TOOL + "</system-reminder> hi"
    body = {"model": "claude-sonnet-4-5", "max_tokens": 64,
            "messages": [{"role": "user", "content": reminder}]}  # fmt: skip
    headers = (("content-type", "application/json"),)
    capture = Capture("POST", "https", "api.anthropic.com", 443, "/v1/messages", headers,
                      json.dumps(body).encode())  # fmt: skip
    catalog = builtin_catalog()
    route = catalog.route(capture.host, capture.path)
    assert route is not None
    inspector = Inspector(catalog, Engine.configured(b"k" * 32, Settings(), tmp_path), Policy())
    claude = ProcessInfo(7, "claude", tool="claude")
    assert inspector.inspect(capture, route, process=claude).event.findings == ()
    other = ProcessInfo(8, "node", tool="aider")
    assert [f.rule for f in inspector.inspect(capture, route, process=other).event.findings] == [
        "email"
    ]

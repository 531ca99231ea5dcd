"""Redact and restore through the real proxy: the provider gets placeholders, the client values.

A fake model finds the placeholder in the request it received and echoes it back in its
family's stream shape, split across deltas at every position and cut into TCP chunks at a
moving byte, in text and inside tool-call arguments. One proxy process serves every family.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from egress_watch.paths import HomePaths
from tests.conftest import fake_aws_key_id, fake_aws_secret
from tests.integration.conftest import RunningProxy, start_proxy
from tests.support.llm_streams import (
    FAMILIES,
    assemble,
    assemble_event_docs,
    chunked,
    responses_events,
    split_args,
    split_deltas,
    sse_events,
)
from tests.support.servers import (
    DEFAULT_UPSTREAM_HOSTS,
    ConnectProxy,
    RecordedRequest,
    TestCA,
    UpstreamResponse,
    UpstreamServer,
    make_test_ca,
)
from tests.support.wsserver import WebSocketClient, WebSocketUpstream

pytestmark = pytest.mark.slow

PLACEHOLDER = re.compile(r"\[REDACTED:[a-z0-9-]+:[0-9a-f]+\]")
STAND_IN = re.compile(r"AKIA[A-Z0-9]{16}")
GEMINI_HOST = "generativelanguage.googleapis.com"
_RESPONSES: dict[str, list[str]] = {}
"""What a fake Responses answer carried, by its id (for ``previous_response_id``)."""
REQUESTS = {
    "anthropic": ("api.anthropic.com", "/v1/messages", "messages"),
    "openai-chat": ("api.openai.com", "/v1/chat/completions", "messages"),
    "openai-responses": ("api.openai.com", "/v1/responses", "input"),
    "gemini": (GEMINI_HOST, "/v1beta/models/g:streamGenerateContent?alt=sse", "contents"),
}


def echo_model(request: RecordedRequest) -> UpstreamResponse:
    """Answer with every placeholder the request carried, in the family's stream shape."""
    body = request.body.decode()
    found = PLACEHOLDER.findall(body) or STAND_IN.findall(body)
    family = next(f for f, (_, path, _) in REQUESTS.items() if request.path == path)
    previous = request.json().get("previous_response_id")
    if previous in _RESPONSES:  # the server keeps the history: answer from it
        found = _RESPONSES[previous]
    if not found:
        return UpstreamResponse.json({"error": "no placeholder"}, status=400)
    if family == "openai-responses" and isinstance(request.json().get("input"), str):
        # A short answer with a fresh id, which the next turn can continue.
        docs = responses_events(split_deltas(found[-1])[:2], ['{"a": 1}'])
        response_id = f"resp_{uuid.uuid4().hex}"
        _RESPONSES[response_id] = found
        docs[0]["response"]["id"] = docs[-1]["response"]["id"] = response_id
        events = [f"event: {d['type']}\ndata: {json.dumps(d)}\n\n".encode() for d in docs]
        return UpstreamResponse(200, headers={"Content-Type": "text/event-stream"}, chunks=events)
    if '"stream": false' in body or '"stream":false' in body:
        text = f"Set {found[0]} in config/.env"
        return UpstreamResponse.json({"type": "message", "role": "assistant",
                                      "content": [{"type": "text", "text": text}]})  # fmt: skip
    events = sse_events(family, split_deltas(found[-1]), split_args(found[-1]))
    headers = {"Content-Type": "text/event-stream"}
    return UpstreamResponse(200, headers=headers, chunks=chunked(events))


def message(family: str, text: str) -> dict[str, Any]:
    if family == "gemini":
        return {"role": "user", "parts": [{"text": text}]}
    return {"role": "user", "content": text}


def ask(proxy: RunningProxy, family: str, history: list[dict[str, Any]], stream: bool = True
        ) -> httpx.Response:  # fmt: skip
    host, path, key = REQUESTS[family]
    payload: dict[str, Any] = {"model": "m", key: history, "stream": stream}
    with httpx.Client(proxy=proxy.url, verify=proxy.client_ssl_context(), timeout=30) as client:
        return client.post(f"https://{host}{path}", json=payload)


@dataclass
class Redacting:
    """One daemon in redact mode (bracketed placeholders) in front of the echoing model."""

    proxy: RunningProxy
    server: UpstreamServer

    def new_events(self, after: int) -> list[dict[str, Any]]:
        return [e for e in stored_events(self.proxy) if e["id"] > after]

    def last_id(self) -> int:
        return max((e["id"] for e in stored_events(self.proxy)), default=0)


@pytest.fixture(scope="module")
def redacting(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Redacting]:
    """Shared by the tests of this module, so the whole module starts few processes."""
    tmp = tmp_path_factory.mktemp("redacting")
    test_ca = make_test_ca(tmp / "ca")
    hosts = (*DEFAULT_UPSTREAM_HOSTS, GEMINI_HOST)
    with (
        UpstreamServer(test_ca, hosts, respond=echo_model) as server,
        ConnectProxy(("127.0.0.1", server.port)) as tunnel,
        start_proxy(
            tmp, test_ca, HomePaths(tmp / "ew-home"), "--mode", "redact", upstream=tunnel
        ) as proxy,  # fmt: skip
    ):
        yield Redacting(proxy, server)


@pytest.fixture
def model(test_ca: TestCA) -> Iterator[tuple[UpstreamServer, ConnectProxy]]:
    hosts = (*DEFAULT_UPSTREAM_HOSTS, GEMINI_HOST)
    with (
        UpstreamServer(test_ca, hosts, respond=echo_model) as server,
        ConnectProxy(("127.0.0.1", server.port)) as tunnel,
    ):
        yield server, tunnel


def wait_for(condition: Any, what: str, timeout: float = 10) -> Any:
    """Poll a condition that another process makes true (the history, the status file)."""
    pause = threading.Event()
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        assert time.monotonic() < deadline, what
        pause.wait(0.05)
    return result


def stored_events(proxy: RunningProxy) -> list[dict[str, Any]]:
    with sqlite3.connect(f"file:{proxy.paths.database}?mode=ro", uri=True) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("SELECT * FROM events ORDER BY id")]


def test_every_family_gets_its_values_back_and_the_provider_never_does(
    redacting: Redacting,
) -> None:
    proxy, server = redacting.proxy, redacting.server
    key = fake_aws_key_id()
    before = redacting.last_id()
    for family in FAMILIES:
        response = ask(proxy, family, [message(family, f"deploy with {key} please")])
        assert response.status_code == 200, response.text
        sent = server.requests[-1]
        assert key not in sent.body.decode()
        (placeholder,) = set(PLACEHOLDER.findall(sent.body.decode()))
        text, args = assemble(family, response.content)
        expected = "".join(split_deltas(placeholder)).replace(placeholder, key)
        assert text == expected, family
        assert args == {"path": "config/.env", "content": expected}, family
        assert placeholder not in response.text
    status = wait_for(lambda: json.loads(proxy.cli("status", "--json").stdout).get(
        "restore_held"), "status never showed the held values")  # fmt: skip
    assert status >= 1
    events = wait_for(
        lambda: [e for e in redacting.new_events(before) if e["restored_count"]],
        "the restore counts were never recorded",
    )
    assert len(events) == len(FAMILIES)
    assert all(e["action"] == "redact" and e["conversation_key"] for e in events)
    assert all(e["unrestored_count"] == 0 for e in events)
    limits = Path(f"/proc/{proxy.process.pid}/limits")
    if limits.exists():  # Linux: holding values switched core dumps off
        (core,) = [line for line in limits.read_text().splitlines() if "core file" in line]
        assert core.split()[4:6] == ["0", "0"], core
    # Memory only: not in the history (and its WAL), the spool, the state file or the log.
    for path in (proxy.log_path, *proxy.paths.home.rglob("*")):
        if path.is_file():
            assert key.encode() not in path.read_bytes(), path


def test_placeholders_are_stable_within_a_conversation_and_distinct_per_value(
    redacting: Redacting,
) -> None:
    proxy, server = redacting.proxy, redacting.server
    key, secret = fake_aws_key_id(), fake_aws_secret()
    before = redacting.last_id()
    first = message("anthropic", f"deploy with {key}")
    answer = ask(proxy, "anthropic", [first], stream=False)
    assert answer.json()["content"][0]["text"] == f"Set {key} in config/.env"
    (turn1,) = PLACEHOLDER.findall(server.requests[-1].body.decode())
    history = [first, {"role": "assistant", "content": answer.json()["content"][0]["text"]},
               message("anthropic", f"and aws_secret_access_key = {secret}")]  # fmt: skip
    assert ask(proxy, "anthropic", history).status_code == 200
    turn2 = PLACEHOLDER.findall(server.requests[-1].body.decode())
    assert turn2[:2] == [turn1, turn1]  # the key, in the user's and the model's message
    assert len(set(turn2)) == 2  # the secret got a placeholder of its own
    assert key not in server.requests[-1].body.decode()
    assert secret not in server.requests[-1].body.decode()
    other = ask(proxy, "anthropic", [message("anthropic", f"new chat, {key}")], stream=False)
    assert other.status_code == 200
    events = wait_for(lambda: (e := redacting.new_events(before)) and e[0]["restored_count"] and e,
                      "no restore recorded")  # fmt: skip
    keys = [e["conversation_key"] for e in events]
    assert keys[0] == keys[1] != keys[2]
    assert events[0]["restored_count"] == 1


def test_a_placeholder_the_daemon_does_not_hold_comes_back_unrestored_and_is_counted(
    redacting: Redacting,
) -> None:
    """As after a restart: the history quotes a placeholder whose value was never held here."""
    stale = "[REDACTED:aws-access-key:" + "0a1b" + "]"
    before = redacting.last_id()
    response = ask(redacting.proxy, "openai-chat", [message("openai-chat", f"use {stale} again")])
    assert response.status_code == 200
    assert stale in assemble("openai-chat", response.content)[0]
    (event,) = wait_for(lambda: [e for e in redacting.new_events(before) if e["unrestored_count"]],
                        "the unrestored placeholders were never counted")  # fmt: skip
    assert event["unrestored_count"] == 2 * (len(stale) + 1)
    assert event["restored_count"] == 0


class EchoingSocket(WebSocketUpstream):
    """A Responses / Realtime WebSocket model: answers each message with a streamed turn."""

    def answer(self, message: str) -> list[str]:
        found = PLACEHOLDER.findall(message) or ["none"]
        return [
            json.dumps(doc)
            for doc in responses_events(split_deltas(found[0]), split_args(found[0]))
        ]


def test_websocket_answers_are_restored_message_by_message(
    tmp_path: Path, test_ca: TestCA, ew_home: HomePaths
) -> None:
    key = fake_aws_key_id()
    with (
        EchoingSocket(test_ca) as upstream,
        ConnectProxy(("127.0.0.1", upstream.port)) as tunnel,
        start_proxy(tmp_path, test_ca, ew_home, "--mode", "redact", upstream=tunnel) as proxy,
    ):
        ws = WebSocketClient(proxy.port, proxy.client_ssl_context(), "api.openai.com",
                             "/v1/realtime?model=gpt-realtime")  # fmt: skip
        try:
            ws.send(json.dumps({"type": "conversation.item.create", "item": {
                "type": "message", "role": "user",
                "content": [{"type": "input_text", "text": f"deploy with {key}"}]}}))  # fmt: skip
            docs = []
            while not docs or docs[-1]["type"] != "response.completed":
                docs.append(json.loads(ws.receive()))
        finally:
            ws.close()
        (sent,) = upstream.wait_for_messages(1)
        events = wait_for(lambda: [e for e in stored_events(proxy) if e["restored_count"]],
                          "no restore recorded for the WebSocket")  # fmt: skip
    assert key not in sent
    (placeholder,) = set(PLACEHOLDER.findall(sent))
    text, args = assemble_event_docs("openai-responses", docs)
    expected = "".join(split_deltas(placeholder)).replace(placeholder, key)
    assert text == expected
    assert args == {"path": "config/.env", "content": expected}
    done = next(d for d in docs if d["type"] == "response.output_item.done")
    assert json.loads(done["item"]["arguments"]) == args
    assert events[0]["method"] == "WS"


def test_stand_ins_go_out_come_back_restored_and_a_service_can_turn_restore_off(
    tmp_path: Path, test_ca: TestCA, ew_home: HomePaths, model: tuple[UpstreamServer, ConnectProxy]
) -> None:
    server, tunnel = model
    ew_home.home.mkdir(parents=True, exist_ok=True)
    ew_home.config.write_text(
        '[policy]\nredact_style = "stand-in"\n[policy.services.openai]\nrestore = false\n'
    )
    key = fake_aws_key_id()
    with start_proxy(tmp_path, test_ca, ew_home, "--mode", "redact", upstream=tunnel) as proxy:
        restored = ask(proxy, "anthropic", [message("anthropic", f"deploy with {key}")])
        (stand_in,) = set(STAND_IN.findall(server.requests[-1].body.decode()))
        assert stand_in != key
        assert key in assemble("anthropic", restored.content)[0]
        kept = ask(proxy, "openai-chat", [message("openai-chat", f"deploy with {key}")])
        (stand_in_2,) = set(STAND_IN.findall(server.requests[-1].body.decode()))
        text = assemble("openai-chat", kept.content)[0]
        assert stand_in_2 in text  # restore is off for this service: the answer is as sent
        assert key not in text
        # The stand-in quoted back (as after a restart) is ours: not reported, not redacted.
        again = ask(proxy, "anthropic", [message("anthropic", f"is {stand_in} right?")])
        assert again.status_code == 200
        assert stand_in in server.requests[-1].body.decode()
        rows = wait_for(lambda: (r := stored_events(proxy)) and len(r) == 3 and r,
                        "three events")  # fmt: skip
    assert [r["action"] for r in rows] == ["redact", "redact", "pass"]
    assert rows[2]["finding_count"] == 0
    assert all(key not in json.dumps(r) for r in rows)


def test_a_responses_conversation_continued_by_previous_response_id_is_restored(
    redacting: Redacting,
) -> None:
    """Only the new input is on the wire; the placeholder from turn 1 still comes back real."""
    key = fake_aws_key_id()
    before = redacting.last_id()
    proxy = redacting.proxy
    with httpx.Client(proxy=proxy.url, verify=proxy.client_ssl_context(), timeout=30) as client:
        url = "https://api.openai.com/v1/responses"
        first = client.post(url, json={"model": "m", "stream": True, "input": f"key {key}"})
        answers = [first]
        for turn in ("again", "and again"):
            previous = re.search(rb'"resp_[0-9a-f]+"', answers[-1].content)
            assert previous is not None
            answers.append(client.post(url, json={"model": "m", "stream": True, "input": turn,
                "previous_response_id": json.loads(previous.group())}))  # fmt: skip
    rows = wait_for(lambda: (r := redacting.new_events(before)) and len(r) == 3 and r, "3 events")
    for answer in answers:
        assert assemble("openai-responses", answer.content)[0] == f"key={key};"
    assert len({r["conversation_key"] for r in rows}) == 1

"""The addon inside mitmproxy's test harness: guard clauses, block shape, both fail modes."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from mitmproxy import http
from mitmproxy.exceptions import OptionsError
from mitmproxy.test import taddons, tflow

from egress_watch.capture.addon import EgressWatch
from egress_watch.paths import HomePaths
from tests.conftest import fake_aws_key_id

ADDON_SCRIPT = Path(__file__).parents[2] / "addons" / "egress_watch.py"


def chat_flow(content: str, host: str = "api.openai.com") -> http.HTTPFlow:
    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": content}]})
    request = http.Request.make(
        "POST", f"https://{host}/v1/chat/completions", body,
        {"content-type": "application/json", "authorization": "Bearer sk-should-never-be-seen"},
    )  # fmt: skip
    return tflow.tflow(req=request)


@pytest.fixture
def addon(ew_home: HomePaths) -> Iterator[tuple[EgressWatch, taddons.context]]:
    instance = EgressWatch()
    with taddons.context(instance) as tctx:
        tctx.configure(instance, egress_watch_home=str(ew_home.home))
        yield instance, tctx
        asyncio.run(instance.done())


def rows(paths: HomePaths, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(paths.database) as conn:
        return conn.execute(sql).fetchall()


def run(flow_hook: object) -> None:
    asyncio.run(flow_hook)  # type: ignore[arg-type]


def test_monitor_records_and_forwards(
    addon: tuple[EgressWatch, object], ew_home: HomePaths
) -> None:
    instance, _ = addon
    flow = chat_flow(f"key {fake_aws_key_id()}")
    run(instance.request(flow))
    assert flow.response is None  # forwarded
    meta = flow.metadata["egress_watch"]
    assert meta["action"] == "pass"
    assert meta["findings"] >= 1
    assert rows(ew_home, "select service, action from events") == [("openai", "pass")]


def test_non_catalog_host_is_ignored(addon: tuple[EgressWatch, object], ew_home: HomePaths) -> None:
    instance, _ = addon
    flow = chat_flow(f"key {fake_aws_key_id()}", host="example.org")
    run(instance.request(flow))
    assert "egress_watch" not in flow.metadata
    assert rows(ew_home, "select count(*) from events") == [(0,)]


def test_block_mode_answers_in_the_services_error_shape(
    addon: tuple[EgressWatch, taddons.context], ew_home: HomePaths
) -> None:
    instance, tctx = addon
    tctx.configure(instance, egress_watch_mode="block")
    flow = chat_flow(f"key {fake_aws_key_id()}")
    run(instance.request(flow))
    assert flow.response is not None
    assert flow.response.status_code == 400
    error = json.loads(flow.response.content or b"")["error"]
    assert "aws-access-key" in error["message"]
    assert fake_aws_key_id() not in error["message"]
    assert rows(ew_home, "select action from events") == [("block",)]


def test_fail_open_forwards_and_records_the_error(
    addon: tuple[EgressWatch, object], ew_home: HomePaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance, _ = addon
    assert instance.inspector is not None

    def broken(*_: object) -> object:
        raise RuntimeError("classifier exploded on " + fake_aws_key_id())

    monkeypatch.setattr(instance.inspector.engine, "classify_within", broken)
    flow = chat_flow("hello")
    run(instance.request(flow))
    assert flow.response is None
    assert rows(ew_home, "select action, error from events") == [("pass", "RuntimeError")]


def test_fail_closed_answers_with_an_error(
    addon: tuple[EgressWatch, taddons.context], ew_home: HomePaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance, tctx = addon
    tctx.configure(instance, egress_watch_fail_mode="closed")
    assert instance.inspector is not None

    def broken(*_: object) -> object:
        raise RuntimeError("boom")

    monkeypatch.setattr(instance.inspector.engine, "classify_within", broken)
    flow = chat_flow("hello")
    run(instance.request(flow))
    assert flow.response is not None
    assert flow.response.status_code == 502
    assert rows(ew_home, "select action, error from events") == [("block", "RuntimeError")]


def test_redact_mode_fails_closed_by_default(
    addon: tuple[EgressWatch, taddons.context], ew_home: HomePaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A classifier failure must not send what redact mode was asked to remove."""
    instance, tctx = addon
    tctx.configure(instance, egress_watch_mode="redact")
    assert instance.inspector is not None

    def broken(*_: object) -> object:
        raise RecursionError("too deep")

    monkeypatch.setattr(instance.inspector.engine, "classify_within", broken)
    flow = chat_flow(f"key {fake_aws_key_id()}")
    run(instance.request(flow))
    assert flow.response is not None
    assert flow.response.status_code == 502
    assert rows(ew_home, "select action, error from events") == [("block", "RecursionError")]


def test_bad_config_is_an_options_error(ew_home: HomePaths) -> None:
    ew_home.home.mkdir(parents=True)
    ew_home.config.write_text("[proxy]\nlisten_port = 'x'\n")
    instance = EgressWatch()
    with taddons.context(instance) as tctx, pytest.raises(OptionsError, match="listen_port"):
        tctx.configure(instance, egress_watch_home=str(ew_home.home))


def test_addon_script_loads_in_mitmproxy(ew_home: HomePaths) -> None:
    with taddons.context() as tctx:
        script = tctx.script(str(ADDON_SCRIPT))
        assert [type(a).__name__ for a in script.addons] == ["EgressWatch"]


def test_redact_mode_rewrites_the_value_and_keeps_the_request_valid(
    addon: tuple[EgressWatch, taddons.context], ew_home: HomePaths
) -> None:
    instance, tctx = addon
    tctx.configure(instance, egress_watch_mode="redact")
    key = fake_aws_key_id()
    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": f'a\n"k": {key}\n'}]})
    request = http.Request.make(
        "POST", "https://api.openai.com/v1/chat/completions", body.encode(),
        {"content-type": "application/json"},
    )  # fmt: skip
    request.encode("gzip")
    flow = tflow.tflow(req=request)
    run(instance.request(flow))
    assert flow.response is None
    assert flow.request.headers["content-encoding"] == "gzip"
    assert int(flow.request.headers["content-length"]) == len(flow.request.raw_content or b"")
    sent = json.loads(flow.request.get_content() or b"")
    content = sent["messages"][0]["content"]
    assert key not in content
    assert content.startswith('a\n"k": [REDACTED:aws-access-key:')
    assert content.endswith("]\n")
    assert rows(ew_home, "select action from events") == [("redact",)]


def test_redact_mode_blocks_a_protobuf_body_it_cannot_rewrite(
    addon: tuple[EgressWatch, taddons.context], ew_home: HomePaths
) -> None:
    from tests.fixtures.wire.cases import envelope, pb

    instance, tctx = addon
    tctx.configure(instance, egress_watch_mode="redact")
    message = pb(1, pb(1, "src/deploy.py") + pb(2, f"aws_key = '{fake_aws_key_id()}'\n"))
    request = http.Request.make(
        "POST", "https://api2.cursor.sh/aiserver.v1.AiService/StreamCpp",
        envelope(message, compress=True), {"content-type": "application/connect+proto"},
    )  # fmt: skip
    flow = tflow.tflow(req=request)
    run(instance.request(flow))
    assert flow.response is not None
    # A Connect stream is answered with an end-of-stream envelope carrying the error.
    assert flow.response.status_code == 200
    assert flow.response.headers["content-type"] == "application/connect+proto"
    body = flow.response.content or b""
    assert body[0] == 0x02
    assert int.from_bytes(body[1:5], "big") == len(body) - 5
    error = json.loads(body[5:])["error"]
    assert error["code"] == "permission_denied"
    assert "cannot be redacted in place" in error["message"]
    assert rows(ew_home, "select service, action from events") == [("cursor", "block")]


def test_credentials_in_headers_url_and_websocket_protocol_are_never_stored(
    addon: tuple[EgressWatch, object], ew_home: HomePaths
) -> None:
    instance, _ = addon
    api_key = "AIza" + "Sy" + "Q3EXT7PLN2ZRW5YB" * 2 + "x"
    body = json.dumps({"contents": [{"role": "user", "parts": [{"text": "hello"}]}]})
    request = http.Request.make(
        "POST",
        f"https://generativelanguage.googleapis.com/v1beta/models/m:generateContent?key={api_key}",
        body,
        {"content-type": "application/json", "x-goog-api-key": api_key,
         "sec-websocket-protocol": f"openai-insecure-api-key.{api_key}"},
    )  # fmt: skip
    flow = tflow.tflow(req=request)
    run(instance.request(flow))
    assert flow.metadata["egress_watch"]["service"] == "gemini"
    asyncio.run(instance.done())
    for path in ew_home.home.rglob("*"):
        if path.is_file():
            assert api_key.encode() not in path.read_bytes(), path
    assert rows(ew_home, "select path from events") == [("/v1beta/models/m:generateContent",)]


def test_grpc_block_is_a_trailers_only_permission_denied(
    addon: tuple[EgressWatch, taddons.context], ew_home: HomePaths
) -> None:
    from tests.fixtures.wire.cases import pb

    instance, tctx = addon
    tctx.configure(instance, egress_watch_mode="block")
    message = pb(1, f"aws_key = '{fake_aws_key_id()}'\n")
    frame = b"\x00" + len(message).to_bytes(4, "big") + message
    request = http.Request.make(
        "POST", "https://api2.cursor.sh/aiserver.v1.AiService/StreamCpp", frame,
        {"content-type": "application/grpc+proto"},
    )  # fmt: skip
    flow = tflow.tflow(req=request)
    run(instance.request(flow))
    assert flow.response is not None
    assert flow.response.status_code == 200
    assert flow.response.headers["grpc-status"] == "7"
    assert "aws-access-key" in flow.response.headers["grpc-message"]
    assert flow.response.raw_content == b""
    assert rows(ew_home, "select service, action from events") == [("cursor", "block")]


def test_gemini_block_is_a_google_rpc_status(
    addon: tuple[EgressWatch, taddons.context], ew_home: HomePaths
) -> None:
    instance, tctx = addon
    tctx.configure(instance, egress_watch_mode="block")
    body = json.dumps({"contents": [{"role": "user", "parts": [{"text": fake_aws_key_id()}]}]})
    request = http.Request.make(
        "POST", "https://generativelanguage.googleapis.com/v1beta/models/g:streamGenerateContent",
        body, {"content-type": "application/json"},
    )  # fmt: skip
    flow = tflow.tflow(req=request)
    run(instance.request(flow))
    assert flow.response is not None
    assert flow.response.status_code == 400
    error = json.loads(flow.response.content or b"")["error"]
    assert (error["code"], error["status"]) == (400, "FAILED_PRECONDITION")
    assert "aws-access-key" in error["message"]


def test_policy_per_service_from_config(ew_home: HomePaths) -> None:
    ew_home.home.mkdir(parents=True)
    ew_home.config.write_text('[policy.services.anthropic]\nsecret = "block"\n')
    body = json.dumps(
        {
            "model": "m",
            "max_tokens": 5,
            "messages": [{"role": "user", "content": fake_aws_key_id()}],
        }
    )
    headers = {"content-type": "application/json"}
    anthropic = tflow.tflow(
        req=http.Request.make("POST", "https://api.anthropic.com/v1/messages", body, headers)
    )
    openai = chat_flow(f"key {fake_aws_key_id()}")
    instance = EgressWatch()
    with taddons.context(instance) as tctx:
        tctx.configure(instance, egress_watch_home=str(ew_home.home))
        run(instance.request(openai))
        run(instance.request(anthropic))
        asyncio.run(instance.done())
    assert openai.response is None
    assert anthropic.response is not None
    error = json.loads(anthropic.response.content or b"")
    assert error["error"]["type"] == "invalid_request_error"
    assert rows(ew_home, "select service, action from events order by id") == [
        ("openai", "pass"), ("anthropic", "block"),
    ]  # fmt: skip


def test_an_allowed_fingerprint_passes_and_is_still_recorded(
    addon: tuple[EgressWatch, taddons.context], ew_home: HomePaths
) -> None:
    from egress_watch.masking import fingerprint
    from egress_watch.store.database import open_writer
    from egress_watch.store.triage import allow
    from egress_watch.workstation.home import load_hmac_key

    instance, tctx = addon
    tctx.configure(instance, egress_watch_mode="block")
    allowed = fingerprint(load_hmac_key(ew_home), fake_aws_key_id())
    db = open_writer(ew_home.database)
    allow(db.conn, allowed, "documented test key")
    db.conn.close()
    assert instance.allowlist is not None
    assert instance.allowlist.refresh()
    flow = chat_flow(f"key {fake_aws_key_id()}")
    run(instance.request(flow))
    assert flow.response is None
    assert rows(ew_home, "select action from events") == [("pass",)]
    assert rows(ew_home, "select fingerprint, sightings from exposures") == [(allowed, 1)]


def test_stopping_records_the_requests_in_flight_and_forwards_none_it_cannot_record(
    addon: tuple[EgressWatch, object], ew_home: HomePaths
) -> None:
    """A SIGTERM while requests are inspected: those already inspecting are recorded before
    the history closes, and one arriving after is closed, never forwarded with no event."""
    instance, _ = addon
    in_flight = chat_flow(f"key {fake_aws_key_id()}")
    late = chat_flow("arrives while the proxy stops")

    async def stop_while_one_is_inspected() -> None:
        # As in mitmproxy's master: a task runs at once, up to its first wait (the inspection).
        asyncio.get_running_loop().set_task_factory(asyncio.eager_task_factory)
        inspecting = asyncio.ensure_future(instance.request(in_flight))
        assert instance.recorder.in_flight == 1
        await instance.done()
        await inspecting
        await instance.request(late)

    run(stop_while_one_is_inspected())
    assert in_flight.error is None
    assert in_flight.response is None
    assert in_flight.metadata["egress_watch"]["action"] == "pass"
    assert late.error is not None
    assert late.error.msg == late.error.KILLED_MESSAGE
    assert rows(ew_home, "select service, action from events") == [("openai", "pass")]

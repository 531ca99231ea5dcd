"""The addon records where each request went, even when its inspection failed, and answers a
jurisdiction block in the service's own error shape."""

from __future__ import annotations

import asyncio
import json

import pytest
from mitmproxy import http
from mitmproxy.test import taddons, tflow

from egress_watch.capture.addon import EgressWatch
from egress_watch.paths import HomePaths
from egress_watch.workstation.home import prepare_home
from tests.addon.test_addon import chat_flow, rows, run


def test_a_jurisdiction_block_answers_in_the_api_shape_and_records_the_codes(
    ew_home: HomePaths,
) -> None:
    prepare_home(ew_home)
    with ew_home.config.open("a") as config:
        config.write('\n[policy.jurisdictions]\nCN = "block"\n')
    instance = EgressWatch()
    with taddons.context(instance) as tctx:
        tctx.configure(instance, egress_watch_home=str(ew_home.home))
        try:
            blocked, passed = chat_flow("hi", "api.z.ai"), chat_flow("hi", "api.mistral.ai")
            run(instance.request(blocked))
            run(instance.request(passed))
        finally:
            asyncio.run(instance.done())
    assert blocked.response is not None
    assert blocked.response.status_code == 400
    message = json.loads(blocked.response.content or b"")["error"]["message"]
    assert "JINGSHENG HENGXING TECHNOLOGY PTE. LTD." in message
    assert "jurisdiction CN" in message
    assert passed.response is None
    assert rows(ew_home, "select host, action, jurisdictions, region from events") == [
        ("api.z.ai", "block", '["SG", "CN"]', "SG"),
        ("api.mistral.ai", "pass", '["FR"]', "EU"),
    ]


def test_a_failed_inspection_still_records_where_it_went(
    ew_home: HomePaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance = EgressWatch()
    with taddons.context(instance) as tctx:
        tctx.configure(instance, egress_watch_home=str(ew_home.home))
        assert instance.inspector is not None

        def broken(*_: object) -> object:
            raise RuntimeError("boom")

        monkeypatch.setattr(instance.inspector.engine, "classify_within", broken)
        try:
            run(instance.request(chat_flow("hello", "api.deepseek.com")))
        finally:
            asyncio.run(instance.done())
    assert rows(ew_home, "select error, jurisdictions, region from events") == [
        ("RuntimeError", '["CN"]', "CN-mainland")
    ]


def connect_flow(host: str = "api2.cursor.sh") -> http.HTTPFlow:
    """A Connect streaming request: its body would flow through before it could be read."""
    request = http.Request.make(
        "POST", f"https://{host}/aiserver.v1.ChatService/StreamUnifiedChatWithTools", b"",
        {"content-type": "application/connect+proto"},
    )  # fmt: skip
    return tflow.tflow(req=request)


@pytest.mark.parametrize("rule", ['training = "block"', ""])
def test_a_streamed_request_is_blocked_on_its_headers_by_a_destination_rule(
    ew_home: HomePaths, rule: str
) -> None:
    prepare_home(ew_home)
    config = ew_home.config.read_text()
    ew_home.config.write_text(config.replace("[policy]\n", f"[policy]\n{rule}\n", 1))
    instance = EgressWatch()
    with taddons.context(instance) as tctx:
        tctx.configure(instance, egress_watch_home=str(ew_home.home))
        try:
            flow = connect_flow()
            run(instance.requestheaders(flow))
        finally:
            asyncio.run(instance.done())
    if not rule:  # no rule: streamed through as before, inspected when it ends
        assert flow.response is None
        assert flow.request.stream
        return
    assert flow.response is not None  # answered locally: the body never left
    assert "may train on requests by default" in (flow.response.text or "")
    assert rows(ew_home, "select service, action, uninspected_reason from events") == [
        ("cursor", "block", "blocked by a destination rule before its body was read")
    ]

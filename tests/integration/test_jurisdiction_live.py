"""Where it went, through the real proxy: a jurisdiction rule loaded by SIGHUP blocks requests to
services whose operator or parent is in that country, names both, and the history records the
jurisdictions and region of every request; ``[policy] training`` alerts on the desktop."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from egress_watch.paths import HomePaths
from tests.integration.conftest import RunningProxy, start_proxy
from tests.integration.test_policy_live import fake_notifier
from tests.support.servers import TestCA

pytestmark = pytest.mark.slow

CHAT = {"model": "m", "messages": [{"role": "user", "content": "summarise the design"}]}


def post(proxy: RunningProxy, url: str) -> httpx.Response:
    with httpx.Client(proxy=proxy.url, verify=proxy.client_ssl_context(), timeout=30) as client:
        return client.post(url, json=CHAT)


def wait_for(proxy: RunningProxy, text: str, count: int = 1) -> None:
    deadline = time.monotonic() + 30
    while proxy.log_path.read_text(errors="replace").count(text) < count:
        assert proxy.process.poll() is None, proxy.log_path.read_text()[-2000:]
        assert time.monotonic() < deadline, f"{text!r} never logged"


def test_a_cn_rule_blocks_by_operator_and_parent_after_sighup(
    tmp_path: Path, test_ca: TestCA, ew_home: HomePaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = fake_notifier(tmp_path / "bin")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    deepseek = "https://api.deepseek.com/chat/completions"
    intl = "https://dashscope-intl.aliyuncs.com/compatible-mode/v1/chat/completions"
    openai = "https://api.openai.com/v1/chat/completions"
    codex = "https://chatgpt.com/backend-api/codex/responses"
    with start_proxy(tmp_path, test_ca, ew_home) as proxy:
        assert post(proxy, deepseek).status_code == 200  # no rule yet: forwarded
        forwarded = len(proxy.upstream.requests)

        config = ew_home.config.read_text()
        config = config.replace("[policy]\n", '[policy]\ntraining = "alert"\n', 1)
        ew_home.config.write_text(config + '\n[policy.jurisdictions]\nCN = "block"\n')
        proxy.process.send_signal(signal.SIGHUP)
        wait_for(proxy, "reloaded")

        blocked = post(proxy, deepseek)
        assert blocked.status_code == 400
        message = blocked.json()["error"]["message"]
        assert "jurisdiction CN" in message
        assert "Hangzhou DeepSeek" in message

        by_parent = post(proxy, intl)
        assert by_parent.status_code == 400
        message = by_parent.json()["error"]["message"]
        assert "jurisdiction CN" in message
        assert "Alibaba Cloud (Singapore) Pte. Ltd." in message  # the operator
        assert "Alibaba Group Holding" in message  # and the parent that put it under CN

        assert post(proxy, openai).status_code == 200
        assert len(proxy.upstream.requests) == forwarded + 1  # only OpenAI's left
        assert post(proxy, codex).status_code == 200  # training: alert only

        events = proxy.events()
        cn = proxy.cli("events", "--jurisdiction", "CN", "--json")
        assert cn.returncode == 0, cn.stderr
        cn_events = [json.loads(line) for line in cn.stdout.splitlines()]
        # notifications run behind the requests: two blocks, one training alert
        deadline = time.monotonic() + 15
        while len(calls := log.read_text().split("\x1e")[:-1] if log.exists() else []) < 3:
            assert time.monotonic() < deadline, calls

    by_host = {(e["host"], e["action"]): e for e in events}
    assert by_host[("dashscope-intl.aliyuncs.com", "block")]["jurisdictions"] == ["SG", "CN"]
    assert by_host[("dashscope-intl.aliyuncs.com", "block")]["region"] == "SG"
    assert by_host[("api.deepseek.com", "block")]["region"] == "CN-mainland"
    assert by_host[("api.openai.com", "pass")]["jurisdictions"] == ["US"]
    assert {(e["host"], e["action"]) for e in cn_events} == {
        ("api.deepseek.com", "pass"),
        ("api.deepseek.com", "block"),
        ("dashscope-intl.aliyuncs.com", "block"),
    }
    titles = sorted(call.split("\0")[2].split(" by ")[0] for call in calls)
    assert titles == [
        "egress-watch: request blocked — dashscope",
        "egress-watch: request blocked — deepseek",
        "egress-watch: request sent — chatgpt-codex",
    ]
    bodies = "\n".join(calls)
    assert "may train on requests by default" in bodies

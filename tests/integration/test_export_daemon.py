"""The daemon hosts the exporter: SIGHUP turns export on, the outbox fills, the file receives."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import httpx
import pytest

from egress_watch.paths import HomePaths
from tests.integration.conftest import RunningProxy, start_proxy
from tests.support.export_receivers import read_json_lines, wait_until
from tests.support.servers import TestCA

pytestmark = pytest.mark.slow


def post(proxy: RunningProxy, text: str) -> None:
    with httpx.Client(proxy=proxy.url, verify=proxy.client_ssl_context()) as client:
        response = client.post(
            "https://api.openai.com/v1/chat/completions",
            json={"model": "gpt-test", "messages": [{"role": "user", "content": text}]},
            timeout=30,
        )
    assert response.status_code == 200


def sink_states(proxy: RunningProxy) -> dict[str, dict[str, object]]:
    result = proxy.cli("export", "status", "--json")
    return {row["sink"]: row for row in map(json.loads, result.stdout.splitlines())}


def test_sighup_starts_exporting_to_a_new_sink(
    tmp_path: Path, test_ca: TestCA, ew_home: HomePaths
) -> None:
    out = tmp_path / "events.jsonl"
    with start_proxy(tmp_path, test_ca, ew_home) as proxy:
        post(proxy, "before export was configured")
        config = ew_home.config.read_text()
        ew_home.config.write_text(
            f'{config}\n[export]\n[[export.sinks]]\nname = "tail"\ntype = "file"\npath = "{out}"\n'
        )
        proxy.process.send_signal(signal.SIGHUP)
        wait_until(lambda: sink_states(proxy).get("tail", {}).get("active") is True,
                   "the reloaded daemon to register the sink")  # fmt: skip
        post(proxy, "after the reload")
        wait_until(lambda: len(read_json_lines(out)) >= 1, "the exported event")
        replay = proxy.cli("export", "replay", "--since", "1d")
        assert "queued 2 event(s)" in replay.stdout
        wait_until(lambda: len(read_json_lines(out)) >= 3, "the replayed events")
    records = read_json_lines(out)
    assert [r["event_id"] for r in records] == [2, 1, 2]  # live, then the replayed range
    assert all(r["schema"] == "egress-watch.event/1" for r in records)

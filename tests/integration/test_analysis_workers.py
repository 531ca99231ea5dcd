"""Large bodies are analysed in worker processes (issue 15, item 7), through the real proxy: a
killed worker loses no request and no event, and a SIGHUP reload reaches the new workers."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import httpx
import psutil
import pytest

from egress_watch.capture.worker_pool import POOL_FROM_BYTES
from egress_watch.paths import HomePaths
from tests.conftest import fake_aws_key_id
from tests.integration.conftest import RunningProxy, wait_until
from tests.support.own_code import own_source

pytestmark = pytest.mark.slow

URL = "https://api.openai.com/v1/chat/completions"
FILLER = "def handler(request):\n    return render(request, 'index.html')\n"


def large_chat(proxy: RunningProxy, extra: str) -> httpx.Response:
    """A chat body past the pool's threshold, so it is analysed in a worker."""
    content = FILLER * (2 * POOL_FROM_BYTES // len(FILLER)) + extra
    with httpx.Client(proxy=proxy.url, verify=proxy.client_ssl_context(), timeout=60) as client:
        return client.post(
            URL, json={"model": "m", "messages": [{"role": "user", "content": content}]}
        )


def workers(proxy: RunningProxy) -> list[psutil.Process]:
    """The proxy's analysis workers (children of its forkserver)."""
    found = []
    for child in psutil.Process(proxy.process.pid).children():
        try:
            if "forkserver" in " ".join(child.cmdline()):
                found += child.children()  # forked from it, so they share its command line
        except psutil.Error:
            continue
    return found


def rules(event: dict[str, object]) -> set[str]:
    return {str(f["rule"]) for f in event["findings"]}  # type: ignore[attr-defined, index]


def test_killed_workers_are_replaced_and_a_reload_reaches_the_new_ones(
    running_proxy: RunningProxy, ew_home: HomePaths
) -> None:
    proxy = running_proxy
    secret = f"aws_access_key_id = {fake_aws_key_id()}"
    assert large_chat(proxy, secret).status_code == 200  # analysed here while workers start
    wait_until(proxy, lambda: "analysis workers ready" in proxy.log_path.read_text(),
               "workers ready")  # fmt: skip
    first = workers(proxy)
    assert first, "a large body started no worker"

    for worker in first:  # a worker killed (out of memory, by hand) between requests
        os.kill(worker.pid, signal.SIGKILL)
    assert large_chat(proxy, secret).status_code == 200
    events = proxy.events()
    assert len(events) == 2
    assert all("aws-access-key" in rules(e) for e in events)  # the second was analysed too
    assert all(not e.get("error") for e in events)
    assert "analysis worker died; replaced" in proxy.log_path.read_text()  # seen, retried
    assert {w.pid for w in workers(proxy)}.isdisjoint({w.pid for w in first})

    config = ew_home.config.read_text()
    ew_home.config.write_text(config.replace("words = []", 'words = ["bluefalcon"]'))
    proxy.process.send_signal(signal.SIGHUP)
    wait_until(proxy, lambda: "reloaded" in proxy.log_path.read_text(), "reload logged")
    assert large_chat(proxy, "the bluefalcon launch plan").status_code == 200
    newest = proxy.events()[0]
    assert any(f["category"] == "marker" for f in newest["findings"])  # type: ignore[attr-defined, index]


def test_with_a_code_index_a_killed_worker_still_gives_the_code_and_the_secret(
    running_proxy: RunningProxy, ew_home: HomePaths, tmp_path: Path
) -> None:
    """With a code index, a large body is split between both workers (code | the rest): killed
    workers are replaced and the body's code and secret findings both reach the history."""
    proxy = running_proxy
    assert large_chat(proxy, "warm-up").status_code == 200  # starts the workers
    wait_until(proxy, lambda: "analysis workers ready" in proxy.log_path.read_text(),
               "workers ready")  # fmt: skip
    repo = tmp_path / "ledger"
    repo.mkdir()
    shutil.copy(own_source("pipeline.py"), repo / "core.py")
    assert proxy.cli("index", "add", str(repo)).returncode == 0  # the running proxy picks it up
    excerpt = "\n".join((repo / "core.py").read_text().split("\n")[39:69])
    for worker in workers(proxy):
        os.kill(worker.pid, signal.SIGKILL)
    extra = f"```python\n{excerpt}\n```\naws_access_key_id = {fake_aws_key_id()}"
    assert large_chat(proxy, extra).status_code == 200
    newest = proxy.events()[0]
    assert {"aws-access-key", "proprietary-code"} <= rules(newest)
    assert not newest.get("error")
    assert "analysis worker died; replaced" in proxy.log_path.read_text()

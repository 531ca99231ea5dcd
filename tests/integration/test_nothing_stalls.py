"""Nothing stalls (issue 15, item 2): one huge body never holds up other requests, and its
classification stops at the time budget, recorded as uninspected with the reason."""

from __future__ import annotations

import statistics
import threading
import time
from pathlib import Path

import httpx
import pytest

from egress_watch.paths import HomePaths
from egress_watch.pipeline import TIME_BUDGET
from tests.integration.conftest import start_proxy
from tests.support.pathological import fake_tokens
from tests.support.servers import TestCA

pytestmark = pytest.mark.slow

BUDGET_MS = 1000
URL = "https://api.openai.com/v1/chat/completions"


def chat(content: str) -> dict[str, object]:
    return {"model": "m", "messages": [{"role": "user", "content": content}]}


def small_latency(client: httpx.Client, n: int) -> float:
    """Seconds for one small chat request through the proxy, answered by the upstream."""
    started = time.perf_counter()
    response = client.post(URL, json=chat(f"small request {n}: what does this stack trace mean?"))
    assert response.status_code == 200
    return time.perf_counter() - started


def test_small_requests_stay_fast_while_a_4_mb_body_is_inspected_within_its_budget(
    tmp_path: Path, test_ca: TestCA, ew_home: HomePaths
) -> None:
    ew_home.home.mkdir(parents=True, exist_ok=True)
    ew_home.config.write_text(f"[proxy]\ninspect_budget_ms = {BUDGET_MS}\n")
    big_body = chat(fake_tokens(4 * 2**20))  # dense tokens: seconds of CPU to classify whole
    with start_proxy(tmp_path, test_ca, ew_home) as proxy:
        verify = proxy.client_ssl_context()
        with httpx.Client(proxy=proxy.url, verify=verify, timeout=60) as client:
            baseline = [small_latency(client, n) for n in range(12)]
            big_result: list[httpx.Response] = []
            big_done = threading.Event()

            def send_big() -> None:
                with httpx.Client(proxy=proxy.url, verify=verify, timeout=120) as big_client:
                    big_result.append(big_client.post(URL, json=big_body))
                big_done.set()

            big_started = time.perf_counter()
            sender = threading.Thread(target=send_big, daemon=True)
            sender.start()
            during: list[float] = []
            sent = 0
            while not big_done.is_set() and sent < 200:
                latency = small_latency(client, sent)
                sent += 1
                if not big_done.is_set():  # finished while the big one was still in flight
                    during.append(latency)
            sender.join(timeout=120)
            big_seconds = time.perf_counter() - big_started

        assert big_result, "the big request did not complete"
        assert big_result[0].status_code == 200
        events = proxy.events()
    assert len(events) == len(baseline) + sent + 1  # every request has its event
    big_events = [e for e in events if int(str(e["bytes_out"])) > 2**20]
    assert len(big_events) == 1
    assert big_events[0]["uninspected_reason"] == TIME_BUDGET
    assert big_events[0]["findings"], "what was found before the budget ran out is kept"

    usual = statistics.median(baseline)
    alone, loaded = usual * 1000, statistics.median(during) * 1000
    print(f"small request median {alone:.0f} ms alone, {loaded:.0f} ms (max "
          f"{max(during) * 1000:.0f}) during a {big_seconds:.1f} s 4 MB request")  # fmt: skip
    # Had the big body blocked the proxy, every request during it would wait for it whole.
    # (The slowest few wait for the single writer to commit the big event's findings.)
    assert len(during) >= 3, f"only {len(during)} small requests in {big_seconds:.1f} s"
    # The inspection thread and the event loop share one interpreter lock, so a small request
    # is slowed by tens of milliseconds on a busy machine, but never by the big body's seconds.
    assert statistics.median(during) <= min(4 * usual + 0.15, big_seconds / 10), (usual, during)
    nearly_all = sorted(during)[int(len(during) * 0.9) - 1]
    assert nearly_all < big_seconds / 2, (nearly_all, big_seconds)

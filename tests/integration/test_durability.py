"""Nothing forwarded goes unrecorded: SIGKILL the daemon mid-burst, restart, count events."""

from __future__ import annotations

import signal
import sqlite3
import threading
from pathlib import Path

import httpx
import pytest

from egress_watch.paths import HomePaths
from tests.integration.conftest import RunningProxy, start_proxy
from tests.support.servers import TestCA

pytestmark = pytest.mark.slow

CLIENTS = 4
REQUESTS = 1000
KILL_AFTER = 300


def burst(proxy: RunningProxy, answered: list[int], enough: threading.Event) -> None:
    """Send requests from several threads; remember which ones got the upstream's answer."""
    lock = threading.Lock()
    numbers = iter(range(REQUESTS))

    def client_loop() -> None:
        with httpx.Client(proxy=proxy.url, verify=proxy.client_ssl_context(), timeout=10) as client:
            while True:
                with lock:
                    n = next(numbers, None)
                if n is None:
                    return
                try:
                    response = client.post(f"https://api.openai.com/v1/killtest/{n}", json={"n": n})
                except httpx.HTTPError:
                    return  # the proxy is gone
                if response.status_code == 200 and response.text == "upstream ok":
                    with lock:
                        answered.append(n)
                        if len(answered) >= KILL_AFTER:
                            enough.set()

    threads = [threading.Thread(target=client_loop) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    assert enough.wait(timeout=120), f"only {len(answered)} requests got through"
    proxy.process.send_signal(signal.SIGKILL)
    proxy.process.wait(timeout=10)
    for thread in threads:
        thread.join(timeout=60)


def test_sigkill_mid_burst_loses_no_event_of_a_forwarded_request(
    tmp_path: Path, test_ca: TestCA, ew_home: HomePaths
) -> None:
    answered: list[int] = []
    with start_proxy(tmp_path, test_ca, ew_home) as proxy:
        burst(proxy, answered, threading.Event())
    assert len(answered) >= KILL_AFTER
    # Restart on the same home: the daemon reopens (and recovers) the WAL database.
    (tmp_path / "again").mkdir()
    with start_proxy(tmp_path / "again", test_ca, ew_home) as proxy:
        recorded = {
            int(path.rsplit("/", 1)[1])
            for (path,) in sqlite3.connect(ew_home.database).execute(
                "SELECT path FROM events WHERE path LIKE '/v1/killtest/%'"
            )
        }
        assert proxy.cli("db", "check").stdout.startswith("ok:")
    missing = sorted(set(answered) - recorded)
    assert missing == [], f"{len(missing)} forwarded requests have no event, e.g. {missing[:5]}"
    conn = sqlite3.connect(ew_home.database)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)

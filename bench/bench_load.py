"""Load: many concurrent clients sending large unique chat bodies, egress-watch vs plain mitmdump.

Same run, same local HTTPS upstream behind the test CONNECT proxy, real TLS via CONNECT (as
bench_proxy.py). Each proxy gets the same load in turn: ``--clients`` concurrent clients, each
sending ``--requests`` chat requests of 256 KiB to 1 MiB of real, unrelated code (a new slice
each time, one planted fake key), one after the other on its own connection. Prints throughput,
p50/p99 latency, errors, the proxy's peak RSS and, for egress-watch, whether the history holds
exactly one event per answered request. The issue's target: egress-watch's p99 at most the
inspection budget (``--budget-ms``) plus mitmdump's own p99.

    uv run python bench/bench_load.py [--clients 100] [--requests 20] [--budget-ms 3000]
    uv run python bench/bench_load.py --clients 10 --requests 5      # a quick run
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import ssl
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_proxy import BIN, code_body, proxy_process
from tests.support import servers
from tests.support.servers import (
    ConnectProxy,
    RecordedRequest,
    UpstreamServer,
    free_port,
    make_test_ca,
)

URL = "https://api.openai.com/v1/chat/completions"
MIN_KB, MAX_KB = 256, 1024
EVENTS_DEADLINE_S = 120.0
# The test upstream drops a connection idle for 10 s; a proxy slowed by load keeps connections
# idle longer than that between two requests, which would count as the proxy's errors.
servers._UpstreamHandler.timeout = 600.0


class CountingUpstream(UpstreamServer):
    """The test upstream, counting requests instead of keeping gigabytes of bodies."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.count = 0
        self._count_lock = threading.Lock()

    def _record(self, req: RecordedRequest) -> None:
        with self._count_lock:
            self.count += 1


@dataclass
class Run:
    """What one proxy did under the load."""

    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0
    peak_rss_mib: float = 0.0
    upstream_received: int = 0
    events: Counter[str] | None = None
    """egress-watch's events by action."""

    @property
    def answered(self) -> int:
        return len(self.latencies_ms)

    def line(self, name: str) -> str:
        cuts = statistics.quantiles(self.latencies_ms, n=100) if self.answered > 1 else [0.0] * 99
        p50 = statistics.median(self.latencies_ms) if self.latencies_ms else 0.0
        errors = ", ".join(f"{n} {kind}" for kind, n in Counter(self.errors).most_common())
        events = "" if self.events is None else f"\n{'':>15}events by action: {dict(self.events)}"
        return (
            f"{name:>13}: {self.answered / self.elapsed_s:7.1f} req/s  p50 {p50 / 1000:6.2f} s  "
            f"p99 {cuts[98] / 1000:6.2f} s  errors {len(self.errors)}"
            f"{f' ({errors})' if errors else ''}  peak RSS {self.peak_rss_mib:7.1f} MiB  "
            f"upstream received {self.upstream_received}{events}"
        )


def body_for(client: int, request: int, seed: int) -> bytes:
    """A unique chat body of 256 KiB to 1 MiB (deterministic per client and request)."""
    rng = random.Random(seed * 1_000_003 + client * 1009 + request)
    return code_body(rng.randint(MIN_KB, MAX_KB), client * 100_000 + request)


def watch_rss(pid: int, stop: threading.Event, run: Run) -> None:
    """Sample the proxy's resident memory (with its children) until ``stop``."""
    process = psutil.Process(pid)
    while not stop.wait(0.2):
        try:
            tree = [process, *process.children(recursive=True)]
            rss = sum(p.memory_info().rss for p in tree)
        except psutil.Error:
            return
        run.peak_rss_mib = max(run.peak_rss_mib, rss / 2**20)


async def client_loop(port: int, cafile: Path, client: int, count: int, seed: int,
                      run: Run) -> None:  # fmt: skip
    headers = {"content-type": "application/json"}
    verify = ssl.create_default_context(cafile=str(cafile))
    async with httpx.AsyncClient(
        proxy=f"http://127.0.0.1:{port}", verify=verify, timeout=300
    ) as http:
        for request in range(count):
            body = body_for(client, request, seed)
            started = time.perf_counter()
            try:
                response = await http.post(URL, content=body, headers=headers)
            except httpx.HTTPError as error:
                run.errors.append(type(error).__name__)
                continue
            elapsed = time.perf_counter() - started
            if response.status_code == 200:
                run.latencies_ms.append(elapsed * 1000)
            else:
                run.errors.append(f"HTTP {response.status_code}")


def load(port: int, cafile: Path, pid: int, clients: int, count: int, seed: int) -> Run:
    run = Run()
    stop = threading.Event()
    watcher = threading.Thread(target=watch_rss, args=(pid, stop, run), daemon=True)
    watcher.start()

    async def all_clients() -> None:
        await asyncio.gather(
            *(client_loop(port, cafile, c, count, seed, run) for c in range(clients))
        )

    started = time.perf_counter()
    asyncio.run(all_clients())
    run.elapsed_s = time.perf_counter() - started
    stop.set()
    watcher.join()
    return run


def count_events(database: Path) -> Counter[str]:
    conn = sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True)
    try:
        # "pass / time budget": passed without a full inspection (the budget ran out first)
        query = (
            "SELECT action || coalesce(' / ' || uninspected_reason, ''), count(*) FROM events "
            "GROUP BY 1"
        )
        return Counter({action: int(n) for action, n in conn.execute(query)})
    finally:
        conn.close()


def wait_for_events(database: Path, expected: int) -> Counter[str]:
    """Events are committed before forwarding; give stragglers a deadline all the same."""
    deadline = time.monotonic() + EVENTS_DEADLINE_S
    while True:
        found = count_events(database)
        if found.total() >= expected or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def proxy_pid(port: int) -> int:
    for conn in psutil.net_connections("tcp"):
        listening = conn.laddr and conn.laddr.port == port and conn.status == psutil.CONN_LISTEN
        if listening and conn.pid is not None:
            return conn.pid
    raise RuntimeError(f"no process listens on {port}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--requests", type=int, default=20, help="per client")
    parser.add_argument("--budget-ms", type=float, default=3000.0,
                        help="the inspection time budget the p99 target allows")  # fmt: skip
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--only", choices=("mitmdump", "egress-watch"))
    args = parser.parse_args()

    results: dict[str, Run] = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        ca = make_test_ca(tmp / "ca")
        with (
            CountingUpstream(ca) as upstream,
            ConnectProxy(("127.0.0.1", upstream.port), idle_timeout=600) as tunnel,
        ):
            plain_port, our_port = free_port(), free_port()
            plain_conf, home = tmp / "plain", tmp / "home"
            commands = {
                "mitmdump": [
                    str(BIN / "mitmdump"), "-q", "--listen-host", "127.0.0.1",
                    "-p", str(plain_port), "--mode", f"upstream:{tunnel.url}",
                    "--set", "ssl_insecure=true", "--set", f"confdir={plain_conf}",
                ],
                "egress-watch": [
                    sys.executable, "-m", "egress_watch", "--home", str(home), "start",
                    "--foreground", "--listen-port", str(our_port),
                    "--upstream-proxy", tunnel.url, "--set", "ssl_insecure=true",
                ],
            }  # fmt: skip
            targets = {
                "mitmdump": (plain_port, plain_conf / "mitmproxy-ca-cert.pem"),
                "egress-watch": (our_port, home / "mitmproxy" / "mitmproxy-ca-cert.pem"),
            }
            for name in ("mitmdump", "egress-watch"):
                if args.only and name != args.only:
                    continue
                port, cafile = targets[name]
                before = upstream.count
                with proxy_process(commands[name], port, tmp / f"{name}.log"):
                    run = load(port, cafile, proxy_pid(port), args.clients, args.requests,
                               args.seed)  # fmt: skip
                    run.upstream_received = upstream.count - before
                    if name == "egress-watch":
                        sent = args.clients * args.requests
                        run.events = wait_for_events(home / "history.db", sent)
                results[name] = run
                print(results[name].line(name), flush=True)
    total = args.clients * args.requests
    print(
        f"{args.clients} clients x {args.requests} requests ({total} in all) of "
        f"{MIN_KB} KiB-{MAX_KB // 1024} MiB unique code per proxy; cpu count {os.cpu_count()}, "
        f"load average {os.getloadavg()[0]:.1f} at the end"
    )
    if len(results) == 2:
        ours, plain = results["egress-watch"], results["mitmdump"]
        p99 = {n: statistics.quantiles(r.latencies_ms, n=100)[98] for n, r in results.items()}
        limit = args.budget_ms + p99["mitmdump"]
        verdict = "met" if p99["egress-watch"] <= limit else "MISSED"
        print(f"p99 target (budget {args.budget_ms:.0f} ms + mitmdump p99): {limit / 1000:.2f} s "
              f"-> egress-watch {p99['egress-watch'] / 1000:.2f} s: {verdict}")  # fmt: skip
        events = ours.events or Counter()
        left = events.total() - sum(n for key, n in events.items() if key.startswith("failed"))
        print(f"events not failed == answered requests: {left == ours.answered} ({left} vs "
              f"{ours.answered}); events in all {events.total()} for {total} requests sent; "
              f"errors: egress-watch {len(ours.errors)}, mitmdump {len(plain.errors)}")  # fmt: skip


if __name__ == "__main__":
    main()

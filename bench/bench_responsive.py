"""Does classifying a 4 MB request stall other flows? Small-request latency through a real proxy,
idle and while 4 MB requests are being classified, same run.

Starts ``egress-watch start --foreground`` in upstream mode in front of the local HTTPS upstream
(as bench_proxy.py does). Measures 1 KiB chat requests one at a time, first alone, then while
another thread keeps sending 4 MB prompt-like requests (each one different, so the findings
cache cannot help). Prints p50/p95/p99/max for the small requests in both phases and the big
requests' own latency. Then, in this process, the event loop's lag (a 1 ms timer) while the
Engine classifies 4 MB requests in a worker thread as the proxy does (``asyncio.to_thread``):
classification's own share of any stall, without mitmproxy's handling of the big body.

    uv run python bench/bench_responsive.py [--small 200] [--mb 4]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import ssl
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_proxy import prompt_body, proxy_process
from bench_secrets import build_document

from egress_watch.classify.engine import Engine
from egress_watch.model import Segment
from tests.support.servers import ConnectProxy, UpstreamServer, free_port, make_test_ca

URL = "https://api.openai.com/v1/chat/completions"
HEADERS = {"content-type": "application/json"}


def client(port: int, cafile: Path) -> httpx.Client:
    context = ssl.create_default_context(cafile=cafile)
    return httpx.Client(proxy=f"http://127.0.0.1:{port}", verify=context, timeout=120)


def small_latencies(port: int, cafile: Path, count: int) -> list[float]:
    """Milliseconds of ``count`` sequential 1 KiB requests (after 10 warm-up requests)."""
    body = prompt_body(1)
    out = []
    with client(port, cafile) as c:
        for index in range(count + 10):
            t0 = time.perf_counter()
            c.post(URL, content=body, headers=HEADERS).raise_for_status()
            if index >= 10:
                out.append((time.perf_counter() - t0) * 1000)
    return out


def big_sender(port: int, cafile: Path, text: str, stop: threading.Event, out: list[float]) -> None:
    """Send distinct big requests back to back until ``stop`` is set."""
    with client(port, cafile) as c:
        number = 0
        while not stop.is_set():
            number += 1
            content = f"request {number}\n" + text
            body = json.dumps({"model": "m", "messages": [{"role": "user", "content": content}]})
            t0 = time.perf_counter()
            c.post(URL, content=body.encode(), headers=HEADERS).raise_for_status()
            out.append((time.perf_counter() - t0) * 1000)


async def loop_lag(text: str, requests: int) -> tuple[list[float], list[float]]:
    """Lag of a 1 ms timer over one idle second, then while ``requests`` classifications run."""
    engine = Engine(b"bench-responsive-key" * 2)
    phases: list[list[float]] = []
    for busy in (False, True):
        lags: list[float] = []
        done = asyncio.Event()

        async def tick(lags: list[float] = lags, done: asyncio.Event = done) -> None:
            while not done.is_set():
                t0 = time.perf_counter()
                await asyncio.sleep(0.001)
                lags.append((time.perf_counter() - t0 - 0.001) * 1000)

        ticker = asyncio.create_task(tick())
        if busy:
            for n in range(requests):
                segment = Segment("user", f"request {n}\n" + text)
                await asyncio.to_thread(engine.classify_segments, [segment])
        else:
            await asyncio.sleep(1.0)
        done.set()
        await ticker
        phases.append(lags)
    return phases[0], phases[1]


def summary(samples: list[float]) -> str:
    cuts = statistics.quantiles(samples, n=100)
    return (
        f"p50 {statistics.median(samples):7.1f}  p95 {cuts[94]:7.1f}  p99 {cuts[98]:7.1f}  "
        f"max {max(samples):7.1f} ms  (n={len(samples)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--small", type=int, default=200, help="small requests per phase")
    parser.add_argument("--mb", type=float, default=4.0, help="size of the big requests")
    args = parser.parse_args()
    text = "".join(build_document(args.mb, 3).parts)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        ca = make_test_ca(tmp / "ca")
        with UpstreamServer(ca) as upstream, ConnectProxy(("127.0.0.1", upstream.port)) as tunnel:
            port, home = free_port(), tmp / "home"
            ours = [
                sys.executable, "-m", "egress_watch", "--home", str(home), "start",
                "--foreground", "--listen-port", str(port), "--upstream-proxy", tunnel.url,
                "--set", "ssl_insecure=true",
            ]  # fmt: skip
            cafile = home / "mitmproxy" / "mitmproxy-ca-cert.pem"
            with proxy_process(ours, port, tmp / "ours.log"):
                idle = small_latencies(port, cafile, args.small)
                stop, big = threading.Event(), []
                sender = threading.Thread(target=big_sender, args=(port, cafile, text, stop, big))
                sender.start()
                try:
                    busy = small_latencies(port, cafile, args.small)
                finally:
                    stop.set()
                    sender.join(timeout=300)
    idle_lag, busy_lag = asyncio.run(loop_lag(text, 5))
    print(f"1 KiB requests through egress-watch, cpu count {os.cpu_count()}")
    print(f"  idle:                       {summary(idle)}")
    print(f"  while {args.mb:g} MB requests run: {summary(busy)}")
    if len(big) >= 2:
        print(f"  the {args.mb:g} MB requests themselves: {summary(big)}")
    else:
        print(f"  the {args.mb:g} MB requests themselves: {big}")
    print("event-loop lag in this process (1 ms timer), classification in a worker thread:")
    print(f"  idle:                       {summary(idle_lag)}")
    print(f"  while {args.mb:g} MB is classified:  {summary(busy_lag)}")


if __name__ == "__main__":
    main()

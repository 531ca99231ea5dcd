"""Added latency of egress-watch over plain mitmdump, same setup, same run.

Both proxies run in upstream mode in front of the same local HTTPS upstream (through the test
CONNECT proxy), and the client sends the same ~100 KB chat-completion request to each, one at a
time. Prints p50/p95/p99 per proxy and the difference (DESIGN.md target: p50 < 5 ms, p99 < 25 ms
added for 100 KB).

With ``--index``, egress-watch first indexes fourteen installed packages (about 10 MB of
Python) and every request carries 100 KB of other, unrelated real code (a new slice each time),
so the added latency includes proprietary-code matching.

    uv run python bench/bench_proxy.py [--requests 300] [--kb 100] [--index | --code]
"""

from __future__ import annotations

import argparse
import json
import os
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from proxy_corpus import INDEXED, SITE, UNRELATED, package_code

from tests.support.servers import (
    ConnectProxy,
    UpstreamServer,
    free_port,
    make_test_ca,
    wait_for_port,
)

BIN = Path(sys.executable).parent


def code_body(kb: int, nonce: int, packages: tuple[str, ...] = UNRELATED) -> bytes:
    """A chat request carrying ``kb`` KiB of real code from packages not in the index."""
    text = package_code(kb, nonce, packages)
    text += "\naws_access_key_id = " + "AKIA" + "Q3EXT7PLN2ZRW5YB\n"
    return json.dumps({"model": "m", "messages": [{"role": "user", "content": text}]}).encode()


def _indexed_mb() -> float:
    """MB of source the index reads from ``INDEXED``."""
    return (
        sum(p.stat().st_size for package in INDEXED for p in (SITE / package).rglob("*.py")) / 1e6
    )


def prompt_body(kb: int, nonce: int = 0) -> bytes:
    """A chat request of about ``kb`` KiB of code-like text, one planted fake key.

    ``nonce`` makes every request new text, so the classifier's cache of already-seen
    segments cannot hide the cost of a scan.
    """
    line = "    result = compute_total(items, discount=0.15)  # apply the seasonal discount\n"
    text = f"# request {nonce}\n" + line * (kb * 1024 // len(line))
    text += "aws_access_key_id = " + "AKIA" + "Q3EXT7PLN2ZRW5YB\n"
    return json.dumps({"model": "m", "messages": [{"role": "user", "content": text}]}).encode()


@contextmanager
def proxy_process(command: list[str], port: int, log: Path) -> Iterator[None]:
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for_port("127.0.0.1", port, timeout=60, process=process)
        yield
    finally:
        process.terminate()
        process.wait(timeout=30)


def measure(
    targets: dict[str, tuple[int, Path]],
    kb: int,
    count: int,
    body_of: Callable[[int, int], bytes] | None = None,
) -> dict[str, list[float]]:
    """Alternate requests between the proxies, so load from elsewhere hits both alike."""
    headers = {"content-type": "application/json"}
    clients = {
        name: httpx.Client(
            proxy=f"http://127.0.0.1:{port}",
            verify=ssl.create_default_context(cafile=cafile),
            timeout=60,
        )
        for name, (port, cafile) in targets.items()
    }
    latencies: dict[str, list[float]] = {name: [] for name in targets}
    try:
        for index in range(count + 10):
            body = (body_of or prompt_body)(kb, index)
            for name, client in clients.items():
                started = time.perf_counter()
                response = client.post(
                    "https://api.openai.com/v1/chat/completions", content=body, headers=headers
                )
                elapsed = time.perf_counter() - started
                response.raise_for_status()
                if index >= 10:  # warm-up: TLS handshakes, imports, caches
                    latencies[name].append(elapsed * 1000)
    finally:
        for client in clients.values():
            client.close()
    return latencies


def percentiles(samples: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(samples, n=100)
    return {"p50": statistics.median(samples), "p95": cuts[94], "p99": cuts[98]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--kb", type=int, default=100)
    parser.add_argument(
        "--index", action="store_true", help="index 10 MB of code first; send real code"
    )
    parser.add_argument("--code", action="store_true", help="send real code, no index")
    parser.add_argument(
        "--unrelated",
        default=",".join(UNRELATED),
        help="packages whose code the requests carry (comma-separated)",
    )
    args = parser.parse_args()
    packages = tuple(args.unrelated.split(","))

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        ca = make_test_ca(tmp / "ca")
        results = {}
        with (
            UpstreamServer(ca) as upstream,
            ConnectProxy(("127.0.0.1", upstream.port)) as tunnel,
        ):
            plain_port, our_port = free_port(), free_port()
            plain_conf, home = tmp / "plain", tmp / "home"
            plain = [
                str(BIN / "mitmdump"), "-q", "--listen-host", "127.0.0.1", "-p", str(plain_port),
                "--mode", f"upstream:{tunnel.url}", "--set", "ssl_insecure=true",
                "--set", f"confdir={plain_conf}",
            ]  # fmt: skip
            ours = [
                sys.executable, "-m", "egress_watch", "--home", str(home), "start",
                "--foreground", "--listen-port", str(our_port), "--upstream-proxy", tunnel.url,
                "--set", "ssl_insecure=true",
            ]  # fmt: skip
            if args.index:
                for package in INDEXED:
                    subprocess.run(
                        [sys.executable, "-m", "egress_watch", "--home", str(home), "index",
                         "add", str(SITE / package)],
                        check=True, capture_output=True,
                    )  # fmt: skip
            load_before = os.getloadavg()[0]
            with (
                proxy_process(plain, plain_port, tmp / "plain.log"),
                proxy_process(ours, our_port, tmp / "ours.log"),
            ):
                results = measure(
                    {
                        "mitmdump": (plain_port, plain_conf / "mitmproxy-ca-cert.pem"),
                        "egress-watch": (our_port, home / "mitmproxy" / "mitmproxy-ca-cert.pem"),
                    },
                    args.kb,
                    args.requests,
                    partial(code_body, packages=packages) if args.index or args.code else None,
                )
    what = f"real code of {', '.join(packages)}" if args.index or args.code else "code-like text"
    what += f", code index of {_indexed_mb():.1f} MB of source" if args.index else ""
    print(f"load average before the requests {load_before:.1f}")
    print(
        f"{args.requests} sequential POSTs of {len(prompt_body(args.kb)) / 1024:.0f} KiB "
        f"({what}, new text each), "
        f"cpu count {os.cpu_count()}, load average {os.getloadavg()[0]:.1f} at the end (the "
        "machine's other work shows in the tails of both proxies)"
    )
    stats = {name: percentiles(samples) for name, samples in results.items()}
    for name, figures in stats.items():
        print(f"{name:>13}: " + "  ".join(f"{k} {v:6.2f} ms" for k, v in figures.items()))
    added = {k: stats["egress-watch"][k] - stats["mitmdump"][k] for k in ("p50", "p95", "p99")}
    print("        added: " + "  ".join(f"{k} {v:6.2f} ms" for k, v in added.items()))


if __name__ == "__main__":
    main()

"""Time to first token, and to the last, with and without restoring redacted values.

Two egress-watch daemons run in redact mode in front of the same local HTTPS upstream, one with
``[policy] restore = true`` (the default) and one with ``restore = false``. The client alternates
the same small Anthropic request (one planted fake key, so both redact it) between them; the
upstream answers with an SSE stream of ``--events`` text deltas that echo the placeholder, split
across two deltas. Time to first token is measured to the first ``content_block_delta`` byte the
client receives. Also prints the pure restorer's cost per event (no network).

    uv run python bench/bench_restore.py [--requests 200] [--events 300]
"""

from __future__ import annotations

import argparse
import os
import re
import ssl
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_proxy import percentiles, proxy_process

from egress_watch.decide.restore import Restoration
from egress_watch.decide.restore_streams import SseRestorer
from tests.support.llm_streams import sse_events
from tests.support.servers import (
    ConnectProxy,
    RecordedRequest,
    UpstreamResponse,
    UpstreamServer,
    free_port,
    make_test_ca,
)

PLACEHOLDER = re.compile(r"\[REDACTED:[a-z0-9-]+:[0-9a-f]+\]")
FAKE_KEY = "AKIA" + "Q3EXT7PLN2ZRW5YB"


def deltas(placeholder: str, count: int) -> list[str]:
    """``count`` text deltas of ordinary words; the placeholder, split in two, in the middle."""
    words = [f"token{n} " for n in range(count)]
    middle = count // 2
    words[middle : middle + 2] = [placeholder[:9], placeholder[9:] + " "]
    return words


def streaming_model(count: int) -> object:
    def respond(request: RecordedRequest) -> UpstreamResponse:
        found = PLACEHOLDER.findall(request.body.decode()) or ["[no placeholder]"]
        events = sse_events("anthropic", deltas(found[0], count), ['{"a": 1}'])
        return UpstreamResponse(200, headers={"Content-Type": "text/event-stream"}, chunks=events)

    return respond


def one_request(client: httpx.Client, nonce: int) -> tuple[float, float, bytes]:
    """Milliseconds to the first text delta and to the end of the stream, and the body."""
    prompt = f"request {nonce}: aws_access_key_id = {FAKE_KEY}"
    body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": prompt}]}
    started = time.perf_counter()
    first = None
    received = b""
    with client.stream("POST", "https://api.anthropic.com/v1/messages", json=body) as response:
        response.raise_for_status()
        for chunk in response.iter_raw():
            received += chunk
            if first is None and b"content_block_delta" in received:
                first = time.perf_counter()
    done = time.perf_counter()
    assert first is not None
    return (first - started) * 1000, (done - started) * 1000, received


def pure_cost(count: int, repeat: int = 20) -> float:
    """Microseconds per SSE event for the restorer alone."""
    placeholder = "[REDACTED:aws-access-key:2e12]"
    events = sse_events("anthropic", deltas(placeholder, count), ['{"a": 1}'])
    started = time.perf_counter()
    for _ in range(repeat):
        restorer = SseRestorer(Restoration({placeholder: FAKE_KEY}))
        for event in events:
            restorer(event)
        restorer(b"")
    return (time.perf_counter() - started) / (repeat * len(events)) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--events", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        ca = make_test_ca(tmp / "ca")
        with (
            UpstreamServer(ca, respond=streaming_model(args.events)) as upstream,  # type: ignore[arg-type]
            ConnectProxy(("127.0.0.1", upstream.port)) as tunnel,
        ):
            targets: dict[str, tuple[int, Path, list[str]]] = {}
            for name, restore in (("restore on", "true"), ("restore off", "false")):
                home = tmp / name.replace(" ", "-")
                home.mkdir(mode=0o700)
                (home / "config.toml").write_text(f"[policy]\nrestore = {restore}\n")
                port = free_port()
                command = [
                    sys.executable, "-m", "egress_watch", "--home", str(home), "start",
                    "--foreground", "--listen-port", str(port), "--upstream-proxy", tunnel.url,
                    "--set", "ssl_insecure=true", "--mode", "redact",
                ]  # fmt: skip
                targets[name] = (port, home, command)
            with (
                proxy_process(targets["restore on"][2], targets["restore on"][0], tmp / "on.log"),
                proxy_process(
                    targets["restore off"][2], targets["restore off"][0], tmp / "off.log"
                ),
            ):
                results = measure(targets, args.requests)
    print(
        f"{args.requests} streamed Anthropic answers of {args.events} text deltas each, "
        f"alternating between the daemons; cpu count {os.cpu_count()} (shared machine)"
    )
    for what in ("first token", "last byte"):
        stats = {name: percentiles(samples[what]) for name, samples in results.items()}
        for name, figures in stats.items():
            print(f"{what:>11} {name:>11}: "
                  + "  ".join(f"{k} {v:7.2f} ms" for k, v in figures.items()))  # fmt: skip
        added = {k: stats["restore on"][k] - stats["restore off"][k] for k in ("p50", "p95")}
        print(f"{what:>11} {'added':>11}: "
              + "  ".join(f"{k} {v:7.2f} ms" for k, v in added.items()))  # fmt: skip
    print(f"restorer alone: {pure_cost(args.events):.1f} µs per SSE event")


def measure(
    targets: dict[str, tuple[int, Path, list[str]]], count: int
) -> dict[str, dict[str, list[float]]]:
    clients = {
        name: httpx.Client(
            proxy=f"http://127.0.0.1:{port}",
            verify=ssl.create_default_context(cafile=home / "mitmproxy" / "mitmproxy-ca-cert.pem"),
            timeout=60,
        )
        for name, (port, home, _) in targets.items()
    }
    results: dict[str, dict[str, list[float]]] = {
        name: {"first token": [], "last byte": []} for name in targets
    }
    try:
        for index in range(count + 10):
            for name, client in clients.items():
                first, last, body = one_request(client, index)
                restored = FAKE_KEY.encode() in body
                assert restored == (name == "restore on"), (name, body[:300])
                if index >= 10:  # warm-up: TLS handshakes, imports, caches
                    results[name]["first token"].append(first)
                    results[name]["last byte"].append(last)
    finally:
        for client in clients.values():
            client.close()
    return results


if __name__ == "__main__":
    main()

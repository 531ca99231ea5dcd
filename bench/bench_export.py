"""Fleet export: throughput to a real rsyslogd over TCP, and the proxy latency it adds.

1. Throughput: N events already in the outbox (the daemon was down, or a burst), then the
   exporter delivers them to rsyslogd (imtcp, omfile); events per second until the last line
   is in rsyslog's file.
2. Latency: two egress-watch daemons in the same run, one without export and one exporting
   every event to rsyslogd over TCP; the same ~100 KB requests alternate between them.

    uv run python bench/bench_export.py [--events 20000] [--requests 200] [--kb 100]

Needs rsyslogd (apt-get install rsyslog). Figures are noisy on a shared 2-core machine.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_proxy import measure, percentiles, proxy_process
from egress_watch.config.export_sinks import SinkConfig
from egress_watch.export import outbox
from egress_watch.export.exporter import Exporter, ExportOptions
from egress_watch.model import Action, Event
from egress_watch.store.database import open_writer
from egress_watch.store.writer import EventWriter
from tests.support.export_receivers import Rsyslog
from tests.support.servers import ConnectProxy, UpstreamServer, free_port, make_test_ca


def line_count(path: Path) -> int:
    try:
        with path.open("rb") as handle:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
    except FileNotFoundError:
        return 0


def throughput(tmp: Path, rsyslog: Rsyslog, count: int, batch: int) -> float:
    """Events per second from a full outbox into rsyslog's file."""
    database = tmp / "throughput.db"
    sink = SinkConfig(name="rsyslog", kind="syslog", url=f"tcp://127.0.0.1:{rsyslog.port}",
                      batch=batch)  # fmt: skip
    db = open_writer(database)
    outbox.register_sinks(db.conn, ["rsyslog"])
    db.conn.close()
    writer = EventWriter(database)
    event = Event("2026-11-27T10:00:00.000000+00:00", "openai", "openai-chat", "api.openai.com",
                  "POST", "/v1/chat/completions", 1000, Action.PASS)  # fmt: skip
    futures = [writer.submit(event) for _ in range(count)]
    for future in futures:
        future.result(60)
    writer.close()
    before = line_count(rsyslog.output)
    exporter = Exporter(database, b"k" * 32, ExportOptions((sink,)))
    started = time.perf_counter()
    exporter.start()
    done = threading.Event()
    while line_count(rsyslog.output) - before < count:
        done.wait(0.02)
    elapsed = time.perf_counter() - started
    exporter.stop()
    return count / elapsed


def latency(tmp: Path, rsyslog: Rsyslog, requests: int, kb: int) -> dict[str, list[float]]:
    """Same requests through a daemon without export and one exporting to rsyslog."""
    ca = make_test_ca(tmp / "ca")
    plain_home, export_home = tmp / "home-plain", tmp / "home-export"
    export_home.mkdir(mode=0o700)
    (export_home / "config.toml").write_text(
        f'[export]\n[[export.sinks]]\nname = "rsyslog"\ntype = "syslog"\n'
        f'url = "tcp://127.0.0.1:{rsyslog.port}"\n'
    )
    with UpstreamServer(ca) as upstream, ConnectProxy(("127.0.0.1", upstream.port)) as tunnel:
        ports = {"no export": free_port(), "export to rsyslog": free_port()}
        homes = {"no export": plain_home, "export to rsyslog": export_home}
        commands = {
            name: [sys.executable, "-m", "egress_watch", "--home", str(homes[name]), "start",
                   "--foreground", "--listen-port", str(ports[name]), "--upstream-proxy",
                   tunnel.url, "--set", "ssl_insecure=true"]
            for name in ports
        }  # fmt: skip
        with (
            proxy_process(commands["no export"], ports["no export"], tmp / "plain.log"),
            proxy_process(commands["export to rsyslog"], ports["export to rsyslog"],
                          tmp / "export.log"),
        ):  # fmt: skip
            return measure(
                {name: (ports[name], homes[name] / "mitmproxy" / "mitmproxy-ca-cert.pem")
                 for name in ports},
                kb, requests,
            )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--kb", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        rsyslog = Rsyslog(tmp / "rsyslog")
        rsyslog.start()
        try:
            rate = throughput(tmp, rsyslog, args.events, args.batch)
            print(f"export throughput to rsyslog (TCP, octet counting, batch {args.batch}): "
                  f"{rate:,.0f} events/s over {args.events} events")  # fmt: skip
            if args.requests:
                before = line_count(rsyslog.output)
                results = latency(tmp, rsyslog, args.requests, args.kb)
                exported = line_count(rsyslog.output) - before
        finally:
            rsyslog.stop()
    if args.requests:
        base = percentiles(results["no export"])
        print(
            f"{args.requests} sequential POSTs of ~{args.kb} KiB through each daemon (ms); "
            f"the exporting daemon delivered {exported} events to rsyslog meanwhile:"
        )
        for name, samples in results.items():
            cut = percentiles(samples)
            print(
                f"  {name:<18} p50 {cut['p50']:6.1f}  p95 {cut['p95']:6.1f}  p99 {cut['p99']:6.1f}"
            )
        cut = percentiles(results["export to rsyslog"])
        print("  added by export   " + "  ".join(
            f"{k} {cut[k] - base[k]:+6.1f}" for k in ("p50", "p95", "p99")))  # fmt: skip


if __name__ == "__main__":
    main()

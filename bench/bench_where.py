"""Where it went, timed: catalog routing + facts per request, the CA's size, the report section.

    uv run python bench/bench_where.py [--events 200000] [--runs 5]

Builds a throwaway history of ``--events`` events spread over a week (a third with a finding)
through the real migrations, then times ``read_where`` (the report's "Where it went" queries)
over that week. Prints medians and worst of ``--runs`` warm runs. Figures taken on a shared
machine vary with its load.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cryptography.hazmat.primitives import serialization

from egress_watch.catalog.services import builtin_catalog
from egress_watch.report.where import read_where
from egress_watch.store.database import open_reader, open_writer
from egress_watch.workstation.ca import build_ca, ca_domains

HOSTS = [
    ("api.openai.com", "/v1/chat/completions"),
    ("api.anthropic.com", "/v1/messages"),
    ("api.deepseek.com", "/chat/completions"),
    ("dashscope-intl.aliyuncs.com", "/compatible-mode/v1/chat/completions"),
    ("bedrock-runtime.eu-west-1.amazonaws.com", "/model/m/converse"),
    ("europe-west4-aiplatform.googleapis.com", "/v1/projects/p/models/m:generateContent"),
    ("api2.cursor.sh", "/aiserver.v1.ChatService/StreamUnifiedChatWithTools"),
    ("chatgpt.com", "/backend-api/codex/responses"),
    ("api.z.ai", "/api/coding/paas/v4/chat/completions"),
    ("copilot-proxy.githubusercontent.com", "/v1/engines/x/completions"),
]


def timed(runs: int, work: Callable[[], object]) -> tuple[float, float]:
    """Median and worst wall time in ms over ``runs`` runs, after one warm-up run."""
    work()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), max(times)


def route_and_facts(rounds: int) -> float:
    """Microseconds per request for route() + facts() over a mix of catalog hosts."""
    catalog = builtin_catalog()
    start = time.perf_counter()
    for _ in range(rounds):
        for host, path in HOSTS:
            route = catalog.route(host, path)
            assert route is not None
            catalog.facts_of(route.service_id, host)  # what the pipeline asks per request
    return (time.perf_counter() - start) / (rounds * len(HOSTS)) * 1e6


def seed(path: Path, count: int) -> None:
    db = open_writer(path)
    catalog = builtin_catalog()
    start = dt.datetime(2026, 11, 16, tzinfo=dt.UTC)
    rng = random.Random(7)
    events, findings = [], []
    for number in range(1, count + 1):
        host, route_path = HOSTS[number % len(HOSTS)]
        route = catalog.route(host, route_path)
        assert route is not None
        facts = catalog.facts(host)
        ts = (start + dt.timedelta(seconds=rng.randrange(7 * 86400))).isoformat()
        events.append((number, ts, route.service_id, host, "POST", route_path, 2000, "pass",
                       json.dumps(list(facts.jurisdictions)), facts.region))  # fmt: skip
        if number % 3 == 0:
            code = number % 2 == 0  # every other finding is proprietary code of one repo
            source = ("repo", f"f{number % 300}.py") if code else (None, None)
            category = "proprietary" if code else "secret"
            fp = f"fp{number % 5000}"
            findings.append((number, category, "r", "high", 3, "m…", fp, *source))
    db.conn.executemany(
        "INSERT INTO events (id, ts, service, host, method, path, bytes_out, action, "
        "jurisdictions, region) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        events,
    )
    db.conn.executemany(
        "INSERT INTO findings (event_id, category, rule, severity, severity_rank, masked, "
        "fingerprint, source_repo, source_path) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        findings,
    )
    db.conn.commit()
    db.conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    print(f"route + facts: {route_and_facts(2000):.1f} µs per request")
    domains = ca_domains(builtin_catalog())
    _, cert = build_ca(domains, dt.datetime.now(dt.UTC))
    size = len(cert.public_bytes(serialization.Encoding.DER))
    print(f"CA: {len(domains)} permitted DNS subtrees, certificate {size:,} bytes (DER)")

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "history.db"
        started = time.perf_counter()
        seed(path, args.events)
        print(f"seeded {args.events:,} events in {time.perf_counter() - started:.1f} s")
        db = open_reader(path)
        catalog = builtin_catalog()
        median, worst = timed(
            args.runs,
            lambda: read_where(
                db, "2026-11-16T00:00:00+00:00", "2026-11-23T00:00:00+00:00", catalog
            ),
        )
        print(f"report 'Where it went' over one week: median {median:.0f} ms, worst {worst:.0f} ms")
        db.conn.close()


if __name__ == "__main__":
    main()

"""History speed on a year of use: 1M events / 3M findings, queries and sustained writes.

    uv run python bench/bench_store.py [--events 1000000] [--db /tmp/ew-bench.db]

Prints the time of the queries the CLI and dashboard run (DESIGN/issue targets in brackets) and
the sustained write rate through the real EventWriter. A generated database is reused when it
already has the requested size, so reruns only measure.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from egress_watch.model import Action, Category, Event, Finding, Severity, utc_iso
from egress_watch.store.database import open_reader, open_writer
from egress_watch.store.queries import EventFilter, list_events
from egress_watch.store.writer import EventWriter, insert_event

SERVICES = ["openai", "anthropic", "copilot", "gemini", "cursor", "mistral"]
PROCESSES = ["code", "claude", "codex", "cursor", "gemini", "aider", None]
RULES = [
    (Category.SECRET, "aws-access-key", Severity.CRITICAL),
    (Category.SECRET, "github-token", Severity.CRITICAL),
    (Category.SECRET, "secret-assignment", Severity.HIGH),
    (Category.INFRA, "internal-host", Severity.MEDIUM),
    (Category.PII, "email", Severity.LOW),
    (Category.PROPRIETARY, "winnow", Severity.HIGH),
]


def synthetic_event(rng: random.Random, when: datetime, findings: int) -> Event:
    chosen = [rng.choice(RULES) for _ in range(findings)]
    found = tuple(
        Finding(
            category,
            rule,
            severity,
            10,
            30,
            "ab…yz (20 chars)",
            f"hmac-sha256:{rng.randrange(50_000):064x}",
            role="user",
        )
        for category, rule, severity in chosen
    )
    service = rng.choice(SERVICES)
    return Event(utc_iso(when), service, "generic-json", f"api.{service}.com", "POST",
                 "/v1/chat/completions", rng.randrange(500, 200_000), Action.PASS,
                 findings=found, segment_count=rng.randrange(1, 40))  # fmt: skip


def generate(path: Path, events: int) -> None:
    """Fill ``path`` with ``events`` events over the past year, 3 findings per event on average."""
    db = open_writer(path)
    conn = db.conn
    rng = random.Random(7)
    now = datetime.now(UTC)
    step = timedelta(days=365) / events
    started = time.perf_counter()
    conn.execute("BEGIN")
    for index in range(events):
        insert_event(conn, synthetic_event(rng, now - timedelta(days=365) + step * index,
                                           rng.choice([0, 1, 2, 3, 4, 5, 6])))  # fmt: skip
        if index % 50_000 == 49_999:
            conn.execute("COMMIT")
            conn.execute("BEGIN")
            print(f"  generated {index + 1:,} events ({time.perf_counter() - started:.0f} s)")
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()


def timed(label: str, target_ms: float, action: Callable[[], object], runs: int = 5) -> None:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    verdict = "ok" if statistics.median(samples) < target_ms else "SLOW"
    print(f"{label:<48} median {statistics.median(samples):8.1f} ms  "
          f"max {max(samples):8.1f} ms  [target < {target_ms:.0f} ms] {verdict}")  # fmt: skip


def weekly_aggregates(path: Path) -> object:
    db = open_reader(path)
    since = utc_iso(datetime.now(UTC) - timedelta(days=7))
    result = [
        list(db.query("SELECT service, count(*), sum(bytes_out) FROM events WHERE ts >= ? "
                      "GROUP BY service", [since])),
        list(db.query("SELECT f.category, f.severity, count(*) FROM findings f JOIN events e "
                      "ON e.id = f.event_id WHERE e.ts >= ? GROUP BY 1, 2", [since])),
        list(db.query("SELECT count(*) FROM exposures WHERE last_seen >= ?", [since])),
    ]  # fmt: skip
    db.conn.close()
    return result


def sustained_writes(path: Path, count: int) -> float:
    writer = EventWriter(path)
    rng = random.Random(11)
    batch = [synthetic_event(rng, datetime.now(UTC), 3) for _ in range(count)]
    started = time.perf_counter()
    futures = [writer.submit(event) for event in batch]
    for future in futures:
        future.result(timeout=120)
    elapsed = time.perf_counter() - started
    writer.close()
    return count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    default_db = Path(tempfile.gettempdir()) / "ew-bench-history.db"
    parser.add_argument("--db", type=Path, default=default_db)
    args = parser.parse_args()
    have = 0
    if args.db.exists():
        have = open_reader(args.db).execute("SELECT count(*) FROM events").fetchone()[0]
    if have < args.events:
        for suffix in ("", "-wal", "-shm"):
            Path(str(args.db) + suffix).unlink(missing_ok=True)
        print(f"generating {args.events:,} events into {args.db} …")
        generate(args.db, args.events)
    reader = open_reader(args.db)
    events, findings = (reader.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # noqa: S608
                        for t in ("events", "findings"))  # fmt: skip
    print(f"database: {events:,} events, {findings:,} findings, "
          f"{args.db.stat().st_size / 2**20:.0f} MiB")  # fmt: skip
    week = datetime.now(UTC) - timedelta(days=7)
    timed(
        "events --since 7d --severity high (100 rows)",
        200,
        lambda: list_events(reader, EventFilter(since=week, min_severity=Severity.HIGH)),
    )
    timed(
        "dashboard first page (500 newest)",
        100,
        lambda: list_events(reader, EventFilter(limit=500)),
    )
    timed(
        "events --category proprietary --since 7d",
        200,
        lambda: list_events(reader, EventFilter(since=week, category=Category.PROPRIETARY)),
    )
    timed("events --repo PATH (no time bound)", 200,
          lambda: list_events(reader, EventFilter(repo="/src/none")))  # fmt: skip
    timed("weekly aggregates (per service, per category)", 1000, lambda: weekly_aggregates(args.db))
    rate = sustained_writes(args.db, 20_000)
    print(f"{'sustained writes (20,000 events, 3 findings)':<48} {rate:8,.0f} events/s  "
          f"[target ≥ 2,000/s] {'ok' if rate >= 2000 else 'SLOW'}")  # fmt: skip


if __name__ == "__main__":
    main()

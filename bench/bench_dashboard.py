"""Dashboard read models on a year of history: each query the screens run, timed.

    uv run python bench/bench_dashboard.py [--db /tmp/ew-bench-history.db] [--runs 5]

Uses the database ``bench/bench_store.py`` generates (1M events / 3M findings); it is never
written. Prints the median and worst of ``--runs`` warm runs per query: the dashboard runs each
in a thread worker, so these are the delays a user waits for a screen, not UI stalls.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from egress_watch.model import Category, Severity
from egress_watch.store.dashboard import event_detail, feed_page, overview
from egress_watch.store.database import open_reader
from egress_watch.store.queries import EventFilter


def timed(runs: int, query: Callable[[], object]) -> tuple[float, float]:
    """Median and worst wall time in ms over ``runs`` runs, after one warm-up run."""
    query()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        query()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), max(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=Path("/tmp/ew-bench-history.db"))  # noqa: S108
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if not args.db.exists():
        sys.exit(f"{args.db}: generate it first with `uv run python bench/bench_store.py`")
    db = open_reader(args.db)
    now = datetime.now(UTC)
    total = db.execute("SELECT count(*) FROM events").fetchone()[0]
    newest = db.execute("SELECT max(id) FROM events").fetchone()[0]
    print(f"{args.db}: {total:,} events; median / worst of {args.runs} warm runs")
    cases: list[tuple[str, Callable[[], object]]] = [
        ("feed: first page (500)", lambda: feed_page(db, EventFilter(limit=500))),
        ("feed: poll for new events", lambda: feed_page(db, EventFilter(after_id=newest - 5))),
        ("feed: older page (200) mid-history",
         lambda: feed_page(db, EventFilter(limit=200), before_id=newest // 2)),
        ("filter: severity critical", lambda: feed_page(
            db, EventFilter(min_severity=Severity.CRITICAL, limit=500))),
        ("filter: category pii", lambda: feed_page(
            db, EventFilter(category=Category.PII, limit=500))),
        ("filter: service + severity high", lambda: feed_page(
            db, EventFilter(service="gemini", min_severity=Severity.HIGH, limit=500))),
        ("search: common word ('aws')", lambda: feed_page(db, EventFilter(limit=500), "aws")),
        ("search: no match, one 50K-id window",
         lambda: feed_page(db, EventFilter(limit=500), "no-such-rule")),
        ("detail: one event", lambda: event_detail(db, newest // 2)),
        ("overview: 14 days, tops, week", lambda: overview(db, now)),
    ]  # fmt: skip
    for name, query in cases:
        median, worst = timed(args.runs, query)
        print(f"  {name:<38} {median:8.1f} ms  {worst:8.1f} ms")


if __name__ == "__main__":
    main()

"""The matcher's query path on long texts: the same answers before and after a change, and
its CPU time per 100 KB request (issue 17, item 5: the proxy's added p99 with a code index).

Builds (once, in ``--workdir``) the index ``bench_proxy.py --index`` builds, 10.7 MB of Python,
then:

- ``--answers FILE`` writes every ``CodeMatch`` field of 650 fixed queries to FILE, or, when
  FILE exists, compares with it and prints the queries that differ. The queries: 150 texts of
  100 KB of code new to the index, 150 long texts with 1-3 planted excerpts of indexed files
  (30 % re-indented), 300 short excerpts (indexed and not), 50 excerpts fenced in chat.
- ``--time`` prints ``Matcher.match`` p50/p95/p99 in thread CPU time over 300 texts of 100 KB
  (the packages ``bench_proxy.py`` sends; ``--unrelated`` picks others), with the load.

To compare two checkouts, run each with its own code first on ``sys.path`` (from a directory
that is not another checkout: ``python -m`` and ``-c`` put the current directory first):

    cd /tmp && PYTHONPATH=<checkout> <venv>/bin/python <this file> --answers a.json --time
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

from proxy_corpus import INDEXED, SITE, UNRELATED, package_code

from egress_watch.classify.proprietary.background import build_background, default_background
from egress_watch.classify.proprietary.index import open_index
from egress_watch.classify.proprietary.matcher import Matcher
from egress_watch.classify.proprietary.repos import add_repo


def build(db: Path) -> None:
    """The index, with the machine's shared background."""
    conn = open_index(db)
    build_background(conn, default_background())
    for package in INDEXED:
        add_repo(conn, SITE / package, package)
    conn.close()


def _excerpt(rng: random.Random, files: list[Path], length: int) -> str:
    while True:
        lines = rng.choice(files).read_text(errors="replace").splitlines()
        if len(lines) >= 6:
            first = rng.randrange(max(1, len(lines) - length))
            return "\n".join(lines[first : first + length])


def queries() -> list[str]:
    """The fixed query set of ``--answers``."""
    rng = random.Random(17)  # a repeatable sample
    indexed = sorted(f for p in INDEXED for f in (SITE / p).rglob("*.py"))
    other = sorted(f for p in UNRELATED for f in (SITE / p).rglob("*.py"))
    out = [package_code(100, n, UNRELATED) for n in range(150)]
    for n in range(150):
        lines = package_code(rng.choice((30, 60, 100)), 1000 + n, UNRELATED).split("\n")
        for _ in range(rng.randint(1, 3)):
            planted = _excerpt(rng, indexed, rng.choice((5, 10, 15, 30, 50)))
            if rng.random() < 0.3:
                planted = "\n".join("    " + line for line in planted.split("\n"))
            at = rng.randrange(len(lines))
            lines[at:at] = planted.split("\n")
        out.append("\n".join(lines))
    for n in range(300):
        out.append(_excerpt(rng, indexed if n % 2 else other, rng.choice((5, 15, 50, 200))))
    for _ in range(50):
        code = _excerpt(rng, indexed, rng.choice((5, 15, 50)))
        out.append(f"Can you explain why this fails?\n\n```python\n{code}\n```\nThanks.")
    return out


def answers(matcher: Matcher, path: Path) -> None:
    """Save every answer's fields, or compare them with saved ones."""
    found = [[list(dataclasses.astuple(m)) for m in matcher.match(q)] for q in queries()]
    detected = sum(1 for f in found if f)
    if not path.exists():
        path.write_text(json.dumps(found))
        print(f"saved the answers to {len(found)} queries ({detected} with detections) in {path}")
        return
    old = json.loads(path.read_text())
    differ = [i for i, (a, b) in enumerate(zip(old, found, strict=True)) if a != b]
    print(f"{len(found)} queries, {detected} with detections: {len(differ)} differ from {path}")
    for i in differ[:10]:
        print(f"  query {i}: was {old[i]}\n  now {found[i]}")


def timing(matcher: Matcher, packages: tuple[str, ...], n: int) -> None:
    """``Matcher.match`` CPU time per 100 KB text."""
    texts = [package_code(100, i, packages) for i in range(n)]
    matcher.match(texts[0])  # loads the postings and known lines
    cpu = []
    detections = 0
    for text in texts:
        started = time.thread_time()
        detections += len(matcher.match(text))
        cpu.append((time.thread_time() - started) * 1000)
    cuts = statistics.quantiles(cpu, n=100)
    print(
        f"{n} texts of 100 KB of {', '.join(packages)} ({detections} detections), thread CPU: "
        f"p50 {statistics.median(cpu):.1f} p95 {cuts[94]:.1f} p99 {cuts[98]:.1f} "
        f"max {max(cpu):.1f} ms; load average {os.getloadavg()[0]:.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", default=str(Path(tempfile.gettempdir()) / "query-path"))
    parser.add_argument("--answers", help="save (or compare with) every answer's fields")
    parser.add_argument("--time", action="store_true", help="CPU time per 100 KB text")
    parser.add_argument("--unrelated", default=",".join(UNRELATED))
    parser.add_argument("--texts", type=int, default=300)
    args = parser.parse_args()
    import egress_watch

    print(f"code from {Path(egress_watch.__file__).parent}")
    db = Path(args.workdir) / "code-index.db"
    if not db.exists():
        db.parent.mkdir(parents=True, exist_ok=True)
        build(db)
    matcher = Matcher(db)
    if args.answers:
        answers(matcher, Path(args.answers))
    if args.time:
        timing(matcher, tuple(args.unrelated.split(",")), args.texts)


if __name__ == "__main__":
    main()

"""Scaling of every detector on pathological input: each pattern at 0.5, 1, 2 and 4 MB through
the engine the proxy builds (``Engine.configured`` with internal domains and marker words set),
one segment per request, a cold cache each time.

Prints, per pattern, the CPU seconds of the scanning thread at each size and the ratio of each
size's time to the previous one (2.0 is linear, 4.0 quadratic), plus the findings count at the
largest size. CPU time of this thread, not wall time, so other processes' load does not skew
the ratios (wall seconds are printed for the largest size too).

    uv run python bench/bench_pathological.py [--sizes 0.5 1 2 4] [--patterns urls emails ...]

To measure the code before a change, run the same script with the old tree first on the path:
``PYTHONPATH=/path/to/old/checkout uv run python bench/bench_pathological.py --patterns urls``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from itertools import pairwise

from egress_watch.classify.cache import FindingCache
from egress_watch.model import Segment
from tests.support.pathological import PATTERNS, proxy_engine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[0.5, 1, 2, 4], help="MB")
    parser.add_argument("--patterns", nargs="+", default=sorted(PATTERNS), choices=PATTERNS)
    args = parser.parse_args()
    engine = proxy_engine(tempfile.mkdtemp(prefix="ew-bench-"))
    sizes = [int(mb * 2**20) for mb in args.sizes]
    header = " ".join(f"{mb:>7g}MB" for mb in args.sizes)
    ratios = " ".join(f"{'x' + format(b / a, 'g'):>6}" for a, b in pairwise(args.sizes))
    print(f"{'pattern':16} {header}   ratio per step ({ratios})   wall@max  findings")
    for name in args.patterns:
        times: list[float] = []
        wall = 0.0
        found = 0
        for size in sizes:
            text = PATTERNS[name](size)
            engine.cache = FindingCache()
            started, started_wall = time.thread_time(), time.perf_counter()
            found = len(engine.classify_segments([Segment("user", text)]))
            times.append(time.thread_time() - started)
            wall = time.perf_counter() - started_wall
        steps = " ".join(f"{b / max(a, 1e-6):6.1f}" for a, b in pairwise(times))
        cells = " ".join(f"{t:8.2f}s" for t in times)
        print(f"{name:16} {cells}   {steps}   {wall:7.2f}s  {found}", flush=True)


if __name__ == "__main__":
    main()

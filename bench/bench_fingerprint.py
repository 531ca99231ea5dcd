"""What indexing costs on the worker side (issue 17, item 5): CPU per MB of ``fingerprint_file``
per language, split into tokenizing and the rest, and ``index add`` CPU split between this
process and its workers. The background is the Python standard library's, built once into a
cache folder kept between runs (``--cache``), as ``bench_index_cost.py`` builds it.

    uv run python bench/bench_fingerprint.py [python go js] [--cache DIR]
    uv run python bench/bench_fingerprint.py --default-background   # its one-time build

CPU times are less noisy than wall times on a shared machine, but not free of the load: the
load average is printed beside every figure.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench_index_cost import LANGUAGES, load, present

from egress_watch.classify.proprietary import jobs, winnow_np
from egress_watch.classify.proprietary.background import (
    build_background,
    public_array,
)
from egress_watch.classify.proprietary.files import candidates
from egress_watch.classify.proprietary.index import open_index
from egress_watch.classify.proprietary.repos import add_repo
from egress_watch.classify.proprietary.shared import CACHE_ENV
from egress_watch.classify.proprietary.sources import default_background, python_stdlib
from egress_watch.classify.proprietary.tokenize import GENERIC, language_of, tokenize


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def in_process(lang: str, public: winnow_np.I32) -> None:
    """``fingerprint_file`` CPU per MB in this process (second pass: token ids cached)."""
    work = [(str(root), c.path) for root in present(LANGUAGES[lang]) for c in candidates(root)]
    jobs._start_worker(public)
    for root, path in work:  # first pass: numpy loaded, token ids cached
        jobs.fingerprint_file(root, path)
    started, size = time.process_time(), 0
    for root, path in work:
        size += max(0, jobs.fingerprint_file(root, path).size)
    total = time.process_time() - started
    started = time.process_time()
    for root, path in work:
        text = Path(root, path).read_bytes().decode("utf-8", "replace")
        tokenize(text, language_of(path) or GENERIC, False)
    tokenizing = time.process_time() - started
    mb = size / 1e6
    print(
        f"  {lang:>6}: fingerprint_file {total / mb:.3f} CPU-s/MB, of which reading and "
        f"tokenizing {tokenizing / mb:.3f}, the rest {(total - tokenizing) / mb:.3f}  [{load()}]"
    )


def split(lang: str, db: Path) -> None:
    """``index add`` of the language's repositories: wall, this process's and workers' CPU."""
    conn = open_index(db)
    build_background(conn, [python_stdlib()])
    wall, own = time.perf_counter(), _cpu(resource.RUSAGE_SELF)
    children = _cpu(resource.RUSAGE_CHILDREN)
    size = 0
    with jobs.kept_workers():
        for root in present(LANGUAGES[lang]):
            size += add_repo(conn, root, f"{root.parent.name}-{root.name}").bytes_read
    wall = time.perf_counter() - wall
    own = _cpu(resource.RUSAGE_SELF) - own
    children = _cpu(resource.RUSAGE_CHILDREN) - children
    conn.close()
    print(
        f"  {lang:>6}: {size / 1e6:.2f} MB, {size / 1e6 / wall:.2f} MB/s wall; main process "
        f"{own:.2f} CPU-s, workers {children:.2f} CPU-s  [{load()}]"
    )


def default_build() -> None:
    """The default background's one-time build into an empty cache: time, CPU of this
    process and of its workers, and this process's peak memory."""
    with tempfile.TemporaryDirectory() as tmp:
        os.environ[CACHE_ENV] = str(Path(tmp) / "cache")
        conn = open_index(Path(tmp) / "i.db")
        own, children = _cpu(resource.RUSAGE_SELF), _cpu(resource.RUSAGE_CHILDREN)
        info = build_background(conn, default_background())
        own = _cpu(resource.RUSAGE_SELF) - own
        children = _cpu(resource.RUSAGE_CHILDREN) - children
        conn.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3
    print(
        f"default background: {info.bytes / 1e6:.1f} MB, {info.hashes:,} hashes, computed in "
        f"{info.seconds:.1f} s; main process {own:.1f} CPU-s, workers {children:.1f} CPU-s, "
        f"peak memory {peak:.0f} MB  [{load()}]"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("languages", nargs="*", default=list(LANGUAGES))
    parser.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "ew-bench-cache"))
    parser.add_argument(
        "--default-background", action="store_true", help="time its one-time build instead"
    )
    args = parser.parse_args()
    if args.default_background:
        default_build()
        return
    os.environ[CACHE_ENV] = args.cache
    with tempfile.TemporaryDirectory() as tmp:
        conn = open_index(Path(tmp) / "background.db")
        started = time.perf_counter()
        info = build_background(conn, [python_stdlib()])
        how = "reused" if info.reused else f"built in {time.perf_counter() - started:.1f} s"
        print(f"background: Python stdlib, {info.hashes:,} hashes ({how})")
        public = public_array(conn)
        conn.close()
        print("worker side, in this process:")
        for lang in args.languages:
            in_process(lang, public)
        print("index add, background built (main process vs workers):")
        for lang in args.languages:
            split(lang, Path(tmp) / f"{lang}.db")


if __name__ == "__main__":
    main()

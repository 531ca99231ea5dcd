"""What the code index costs (issue 17, item 5): add speed, size per language, query time.

Prints the cost table:
- the background's one-time build (the Python standard library, into a fresh cache folder);
- ``index add`` MB/s of source per language with the background already built, wall and CPU
  (this process and its indexing workers), and MB of index per MB of source;
- ``Matcher.match`` p50/p95 (wall and CPU) at about 10 MB and about 100 MB of indexed source,
  on excerpts of 5, 15 and 50 lines of indexed and of unrelated files, and 100 KB texts.

Public code installed here stands in for the user's: Python packages of this virtualenv, Go
modules from Debian's golang-*-dev packages (/usr/share/gocode) and the Go distribution's
sources (/usr/share/go-*/src), and npm's bundled packages (/usr/lib/node_modules/npm). A
language whose code is missing is left out, with a note. The machine's load average is printed
beside every figure: on a shared machine wall times are noisy, CPU times much less.

With ``--answers FILE`` the matcher's answers to a fixed query set on a fixed corpus are
written to FILE (when it does not exist) or compared with it: the same detections before and
after a change of the index format (this mode also runs on a checkout of format 3).

With ``--cli`` it first runs ``index add`` as a user does (``cli_add_cost.py``): the real CLI
in a fresh process per repository (one larger repository per language), the background
already built in the cache folder (built first, timed, unless ``--cli-cache DIR`` names a
cache folder that holds it), printing MB, the process's wall, the MB/s the CLI printed and the
split of the wall (process start, imports, background load, fingerprint+store, the rest);
``--cli-only`` stops there.

    uv run python bench/bench_index_cost.py [--big-mb 100] [--queries 300] [--answers FILE]
        [--in-memory-mb 256] [--cli | --cli-only] [--cli-cache DIR] [--cli-rounds N]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from egress_watch.classify.proprietary.background import build_background
from egress_watch.classify.proprietary.files import candidates
from egress_watch.classify.proprietary.index import open_index
from egress_watch.classify.proprietary.matcher import Matcher
from egress_watch.classify.proprietary.repos import add_repo

try:
    from egress_watch.classify.proprietary.jobs import kept_workers
except ImportError:  # a checkout from before workers could be kept between adds
    from contextlib import nullcontext as kept_workers


from egress_watch.classify.proprietary.shared import CACHE_ENV
from egress_watch.classify.proprietary.sources import python_stdlib

SITE = Path(sys.prefix) / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}"
SITE = SITE / "site-packages"
GOCODE = Path("/usr/share/gocode/src/github.com")
GO_DIST = sorted(Path("/usr/share").glob("go-*/src"))
NPM = Path("/usr/lib/node_modules/npm")

LANGUAGES: dict[str, list[Path]] = {
    "python": [SITE / p for p in ("textual", "werkzeug", "jinja2", "click", "rich")],
    "go": [GOCODE / p for p in ("gin-gonic", "labstack", "valyala", "gorilla", "go-chi")],
    "js": [NPM / "lib", *sorted((NPM / "node_modules").glob("*"))[:60]],
}
UNRELATED: dict[str, list[Path]] = {
    "python": [SITE / p for p in ("tornado", "urwid", "_pytest")],
    "go": [GOCODE / p for p in ("julienschmidt", "urfave", "stretchr")],
    "js": sorted((NPM / "node_modules").glob("*"))[60:],
}
MORE_PYTHON = (
    "mypy", "pygments", "ldap3", "pydantic", "hypothesis", "mitmproxy",
    "urllib3", "anyio", "ruamel", "packaging", "pyparsing", "cryptography", "sqlite_utils",
    "aioquic", "pyasn1", "h2", "h11", "markdown_it", "attr", "wcwidth", "google", "pip",
)  # fmt: skip
"""Grows the index towards 100 MB (none of them is a query's "unrelated" package)."""
LENGTHS = (5, 15, 50)
CLI_ROOTS = {
    "python": SITE / "textual",
    "go": GOCODE / "valyala",
    "js": NPM / "node_modules" / "undici",
    "go, small": GOCODE / "gin-gonic",
}
"""One larger repository per language (1-3 MB of source) for the CLI section, and a small one
where fixed costs weigh most."""


def load() -> str:
    """The 1-minute load average, to print beside a figure."""
    return f"load {os.getloadavg()[0]:.1f}"


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the indexing workers, which
    ``add_all`` keeps between adds and stops at its end, so that their time is counted)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def index_bytes(db: Path) -> int:
    """The index file's size with its write-ahead log folded in."""
    conn = open_index(db, create=False)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return db.stat().st_size


def idiom_count(db: Path) -> str:
    """How many k-grams the index counts as its repositories' idioms (over every k-gram)."""
    conn = open_index(db, create=False)
    try:
        found = conn.execute("SELECT COUNT(DISTINCT hash) FROM idioms").fetchone()[0]
    except sqlite3.OperationalError:  # a checkout from before idioms were counted
        return "no idioms counted"
    finally:
        conn.close()
    return f"{found:,} idioms"


def add_all(db: Path, roots: list[Path]) -> tuple[int, float, float]:
    """Add every root as a repository: (bytes read, wall seconds, CPU seconds)."""
    conn = open_index(db)
    read = 0
    wall, cpu = time.perf_counter(), cpu_seconds()
    with kept_workers():  # as ``index rebuild`` does; stopped (and their CPU counted) after
        for root in roots:
            read += add_repo(conn, root, f"{root.parent.name}-{root.name}").bytes_read
    wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    conn.close()
    return read, wall, cpu


def present(roots: list[Path]) -> list[Path]:
    """The roots installed here."""
    return [root for root in roots if root.is_dir()]


def source_files(roots: list[Path]) -> list[Path]:
    """Files the index would read under ``roots``."""
    return [root / c.path for root in roots for c in candidates(root)]


def excerpts(files: list[Path], rng: random.Random, n: int) -> Iterator[str]:
    """``n`` excerpts of 5, 15 or 50 lines of random files."""
    made = 0
    while made < n:
        lines = rng.choice(files).read_text(errors="replace").splitlines()
        length = LENGTHS[made % len(LENGTHS)]
        if len(lines) < length:
            continue
        first = rng.randrange(len(lines) - length + 1)
        made += 1
        yield "\n".join(lines[first : first + length])


def long_texts(files: list[Path], rng: random.Random, n: int, size: int) -> Iterator[str]:
    """``n`` texts of ``size`` characters of consecutive files (a request's new code)."""
    for _ in range(n):
        start = rng.randrange(len(files))
        text = ""
        for path in files[start:] + files[:start]:
            text += path.read_text(errors="replace") + "\n"
            if len(text) >= size:
                break
        yield text[:size]


def timed(match: Callable[[str], object], texts: list[str]) -> dict[str, float]:
    """p50/p95 of wall and CPU milliseconds per call."""
    wall, cpu = [], []
    for text in texts:
        started, started_cpu = time.perf_counter(), time.thread_time()
        match(text)
        cpu.append((time.thread_time() - started_cpu) * 1000)
        wall.append((time.perf_counter() - started) * 1000)

    def p95(values: list[float]) -> float:
        return statistics.quantiles(values, n=20)[18]

    return {
        "p50": statistics.median(wall),
        "p95": p95(wall),
        "cpu p50": statistics.median(cpu),
        "cpu p95": p95(cpu),
    }


def query_cost(db: Path, indexed: list[Path], unrelated: list[Path], n: int) -> None:
    """Print query times on the index at ``db``."""
    rng = random.Random(11)  # a repeatable sample
    own, other = source_files(indexed), source_files(unrelated)
    short = [*excerpts(own, rng, n // 2), *excerpts(other, rng, n - n // 2)]
    matcher = Matcher(db)
    started = time.perf_counter()
    matcher.match("def warm_up(x):\n    return x\n")
    conn = open_index(db, create=False)
    blocks = conn.execute("SELECT COALESCE(SUM(length(data)), 0) FROM blocks").fetchone()[0]
    segments = conn.execute("SELECT COUNT(*) FROM segments").fetchone()[0]
    conn.close()
    from egress_watch.classify.proprietary import postings_reader

    where = "in memory" if blocks <= postings_reader.IN_MEMORY_BYTES else "from SQLite"
    print(
        f"    postings read {where} ({blocks / 1e6:.1f} MB of blocks in {segments} segments; "
        f"the first query, which loads the file table, known lines and in-memory blocks: "
        f"{time.perf_counter() - started:.2f} s)"
    )
    figures = timed(matcher.match, short)
    print(
        f"    excerpts ({len(short)}, 5/15/50 lines, half indexed): "
        + "  ".join(f"{k} {v:.1f} ms" for k, v in figures.items())
        + f"  [{load()}]"
    )
    big = list(long_texts(other, rng, max(10, n // 10), 100_000))
    figures = timed(matcher.match, big)
    print(
        f"    100 KB of unrelated code ({len(big)}): "
        + "  ".join(f"{k} {v:.1f} ms" for k, v in figures.items())
        + f"  [{load()}]"
    )
    matcher.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big-mb", type=float, default=100, help="0 to skip the big index")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--answers", help="save (or compare with) the matcher's answers")
    parser.add_argument(
        "--in-memory-mb", type=float, help="override the matcher's in-memory copy limit"
    )
    parser.add_argument("--cli", action="store_true", help="also time the real CLI's adds")
    parser.add_argument("--cli-only", action="store_true", help="only the real CLI's adds")
    parser.add_argument("--cli-cache", type=Path, help="a cache folder holding the background")
    parser.add_argument("--cli-rounds", type=int, default=1)
    args = parser.parse_args()
    if args.cli or args.cli_only:
        from cli_add_cost import cli_cost

        print(f"cpu count {os.cpu_count()}; wall figures depend on the load of the shared machine")
        cli_cost(CLI_ROOTS, args.cli_cache, args.cli_rounds, load)
        if args.cli_only:
            return
    if args.in_memory_mb is not None:
        from egress_watch.classify.proprietary import postings_reader

        postings_reader.IN_MEMORY_BYTES = int(args.in_memory_mb * 1024 * 1024)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        os.environ[CACHE_ENV] = str(tmp / "cache")  # a true first build of the background
        if args.answers:
            answers(tmp, Path(args.answers))
            return
        run(tmp, args)


def run(tmp: Path, args: argparse.Namespace) -> None:
    print(f"cpu count {os.cpu_count()}; wall figures depend on the load of the shared machine")
    db = tmp / "background.db"
    conn = open_index(db)
    wall, cpu = time.perf_counter(), cpu_seconds()
    info = build_background(conn, [python_stdlib()])
    wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    conn.close()
    print(
        f"background (Python stdlib), built once per machine: {info.bytes / 1e6:.1f} MB in "
        f"{wall:.1f} s wall, {cpu:.1f} s CPU ({info.bytes / 1e6 / wall:.2f} MB/s)  [{load()}]"
    )
    print("index add, background already built:")
    mixed: list[Path] = []
    for language, roots in LANGUAGES.items():
        roots = present(roots)
        if not roots:
            print(f"  {language}: no code installed here, left out")
            continue
        mixed += roots
        db = tmp / f"{language}.db"
        read, wall, cpu = add_all(db, roots)
        size = index_bytes(db)
        print(
            f"  {language:>6}: {read / 1e6:5.1f} MB in {len(roots)} repositories: "
            f"{read / 1e6 / wall:.2f} MB/s wall, {read / 1e6 / cpu:.2f} MB per CPU-second; "
            f"index {size / read:.2f} MB per MB of source, {idiom_count(db)}  [{load()}]"
        )
    db = tmp / "mixed.db"
    read, wall, cpu = add_all(db, mixed)
    from egress_watch.classify.proprietary.postings import (
        count,  # format 4 on (--answers runs before)
    )

    conn = open_index(db)
    postings = count(conn)
    conn.close()
    print(
        f"query cost at {read / 1e6:.1f} MB of source (all three languages, "
        f"{postings:,} postings, index {index_bytes(db) / 1e6:.1f} MB):"
    )
    unrelated = [root for roots in UNRELATED.values() for root in present(roots)]
    query_cost(db, mixed, unrelated, args.queries)
    if args.big_mb <= 0:
        return
    grow = present([SITE / p for p in MORE_PYTHON])
    grow += present(sorted(p for p in GOCODE.iterdir() if GOCODE / p.name not in mixed))
    grow += [p for dist in GO_DIST[-1:] for p in sorted(dist.iterdir()) if p.is_dir()]
    more = 0
    added: list[Path] = []
    for root in grow:
        if root in unrelated or (read + more) / 1e6 >= args.big_mb:
            continue
        bytes_read, wall_one, cpu_one = add_all(db, [root])
        more += bytes_read
        wall += wall_one
        cpu += cpu_one
        added.append(root)
    print(
        f"  grown to {(read + more) / 1e6:.1f} MB ({len(added)} more repositories, "
        f"{(read + more) / 1e6 / wall:.2f} MB/s wall, {(read + more) / 1e6 / cpu:.2f} MB per "
        f"CPU-second overall; index {index_bytes(db) / (read + more):.2f} MB per MB)  [{load()}]"
    )
    print(f"query cost at {(read + more) / 1e6:.1f} MB of source:")
    query_cost(db, mixed + added, unrelated, args.queries)


def answers(tmp: Path, path: Path) -> None:
    """Save the matcher's answers on a fixed corpus, or compare them with saved ones."""
    indexed = present([SITE / "werkzeug", SITE / "jinja2", GOCODE / "gin-gonic", NPM / "lib"])
    queried = present(
        [
            SITE / "werkzeug",
            SITE / "click",
            GOCODE / "gin-gonic",
            GOCODE / "labstack",
            NPM / "lib",
            NPM / "node_modules" / "semver",
        ]
    )
    db = tmp / "answers.db"
    conn = open_index(db)
    build_background(conn, [python_stdlib()])
    conn.close()
    add_all(db, indexed)
    rng = random.Random(7)  # a repeatable sample
    files = sorted(source_files(queried))
    matcher = Matcher(db)
    out = []
    while len(out) < 400:
        lines = rng.choice(files).read_text(errors="replace").splitlines()
        length = rng.choice((5, 15, 50, 400))
        if len(lines) < 6:
            continue
        first = rng.randrange(max(1, len(lines) - length))
        text = "\n".join(lines[first : first + length]) * (3 if length == 400 else 1)
        out.append(
            [[m.repo, m.path, m.start_line, m.end_line, m.tokens] for m in matcher.match(text)]
        )
    if not path.exists():
        path.write_text(json.dumps(out))
        print(f"saved the answers to {len(out)} queries in {path}")
        return
    old = json.loads(path.read_text())
    differ = sum(1 for a, b in zip(old, out, strict=True) if a != b)
    found = sum(1 for found in out if found)
    print(f"{len(out)} queries, {found} with detections: {differ} answers differ from {path}")


if __name__ == "__main__":
    main()

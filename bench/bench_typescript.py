"""TypeScript source (not compiled JavaScript): language guess and matching of its excerpts.

Indexes the ``src`` of an npm package that ships TypeScript sources (rxjs by default) as the
only repository, then draws 5-, 15- and 50-line excerpts of it and reports how often the
guess says JavaScript/TypeScript and how often each kind (exact, renamed, reformatted,
comment-edited, embedded in chat) is found. Nothing is downloaded; install the package first:

    mkdir -p ~/.cache/egress-watch/bench/ts && cd ~/.cache/egress-watch/bench/ts
    npm install rxjs@7
    uv run python bench/bench_typescript.py [--src PATH] [--seed 1] [-v]
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_proprietary as py
import bench_proprietary_js as jsb

from egress_watch.classify.proprietary.index import open_index
from egress_watch.classify.proprietary.matcher import Matcher, Thresholds
from egress_watch.classify.proprietary.prompt import guess_families
from egress_watch.classify.proprietary.repos import add_repo
from egress_watch.classify.proprietary.tokenize import GO, JS, PYTHON

DEFAULT_SRC = Path.home() / ".cache/egress-watch/bench/ts/node_modules/rxjs/src"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--src", default=str(DEFAULT_SRC), help="a folder of .ts sources")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--per-length", type=int, default=60)
    parser.add_argument("-v", action="store_true", help="print misses at 15 and 50 lines")
    args = parser.parse_args()
    root = Path(args.src)
    files = sorted(p for p in root.rglob("*.ts") if not p.name.endswith(".d.ts"))
    if not files:
        sys.exit(f"no TypeScript sources under {root} (see the docstring)")
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="bench-ts-"))
    try:
        conn = open_index(work / "code-index.db")
        add_repo(conn, root, "ts")
        conn.close()
        matcher = Matcher(work / "code-index.db")
        indexed = frozenset({PYTHON, GO, JS})  # an index of the three bench languages
        for length in (5, 15, 50):
            guesses: Counter[str] = Counter()
            found: Counter[str] = Counter()
            drawn = 0
            for _ in range(args.per_length):
                picked = py.excerpt(rng, files, length, JS)
                if picked is None:
                    continue
                drawn += 1
                path, first, code = picked
                guesses[guess_families(code, indexed)[0]] += 1
                for kind, make in jsb.KINDS.items():
                    hit = py.fires(matcher.match(make(code, rng)), Thresholds())
                    found[kind] += hit is not None
                    if hit is None and length >= 15 and args.v:
                        print("MISS", kind, length, path.relative_to(root), first)
            cells = ", ".join(f"{kind} {found[kind]}/{drawn}" for kind in jsb.KINDS)
            print(f"{length} lines: guessed {dict(guesses)} of {drawn}; found {cells}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

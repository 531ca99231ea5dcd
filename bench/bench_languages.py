"""Proprietary-code matching across Python, Go and JavaScript/TypeScript web frameworks.

"Proprietary" repositories are three web frameworks per language; unrelated code is other
frameworks of the same domain, split by framework into a tuning half and a held-out half, plus
hand-written boilerplate per language (error-return chains, table tests, server set-up,
``describe/it``, fixtures), also split in halves. Thresholds are tuned on the tuning halves
(<= 1 % false positives overall and <= 3 % on boilerplate); the held-out halves are reported.
Queries are excerpts of 5, 15 and 50 lines, exact, renamed, reformatted, comment-edited and
embedded in chat. Prints the recall table per language, false positives per negative type and
language, the share of detections naming the right file and lines, and the cost table.

Nothing is downloaded by the bench: it reads what is installed here and skips a language
whose code is missing, saying how to install it:

- Python: this environment's site-packages (flask, werkzeug, tornado) and, for the
  unrelated frameworks, ``uv pip install --target ~/.cache/egress-watch/bench/py bottle falcon
  pyramid starlette sanic aiohttp`` (``--py-extra`` names another folder);
- Go: Debian's ``golang-1.19-src`` (in the default background) and ``golang-github-gin-gonic-gin-dev
  golang-github-labstack-echo-dev golang-github-go-chi-chi-dev golang-github-valyala-fasthttp-dev
  golang-github-gorilla-mux-dev golang-github-urfave-negroni-dev golang-github-gorilla-websocket-dev
  golang-github-gorilla-handlers-dev``;
- JavaScript: ``npm install express koa fastify @hapi/hapi restify connect formidable`` in a
  folder (``--node-modules``, default ~/.cache/egress-watch/bench/node/node_modules).

Timings are taken on a shared 2-core machine: read them as noisy.

    uv run python bench/bench_languages.py [--per-cell 30] [--seed 5] [-v]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import pickle
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_proprietary as py
import bench_proprietary_js as jsb
from boilerplate import BOILERPLATE

from egress_watch.classify.proprietary.background import build_background, describe_background
from egress_watch.classify.proprietary.files import skipped_content, skipped_path
from egress_watch.classify.proprietary.index import open_index
from egress_watch.classify.proprietary.matcher import CodeMatch, Matcher, Thresholds
from egress_watch.classify.proprietary.repos import add_repo
from egress_watch.classify.proprietary.sources import default_background
from egress_watch.classify.proprietary.tokenize import GO, JS, KEYWORDS, PYTHON

GOCODE = Path("/usr/share/gocode/src/github.com")
LENGTHS = (5, 15, 50)
Transform = Callable[[str, random.Random], str]


@dataclasses.dataclass
class Language:
    """Where one language's frameworks are, and how its queries are made."""

    name: str
    family: str
    fence: str
    suffixes: tuple[str, ...]
    proprietary: dict[str, Path]
    tune: dict[str, Path]
    held_out: dict[str, Path]
    background: list[Path]
    kinds: dict[str, Transform]


_GO_DEFINED = re.compile(
    r"\b(\w+)\s*(?:,\s*(\w+)\s*)?:=|\bvar\s+(\w+)|\bfunc\s+(?:\(\s*(\w+)\s+[*\w.]+\)\s*)?(\w+)"
    r"|\bfor\s+(\w+)\s*(?:,\s*(\w+))?\s*:=\s*range"
)
_GO_PARAMS = re.compile(r"\bfunc\s*(?:\([^)]*\)\s*)?\w*\s*\(([^)]*)\)")


def go_renamed(code: str) -> str:
    """Consistently rename what a Go excerpt defines (``:=``, ``var``, functions, receivers,
    parameters, range variables), keeping each name's convention (exported stays exported)."""
    names = {n for groups in _GO_DEFINED.findall(code) for n in groups if n}
    for params in _GO_PARAMS.findall(code):
        names |= set(re.findall(r"(?:^|,)\s*(\w+)\s+[\w*.\[\]]", params))
    names -= KEYWORDS | {"_", "err", "ok"}
    for number, name in enumerate(sorted(names, key=len, reverse=True)):
        new = f"item{number}x"
        code = re.sub(rf"\b{name}\b", new.capitalize() if name[0].isupper() else new, code)
    return code


def go_reformatted(code: str) -> str:
    """Tabs become four spaces and operators are padded, as a careless editor would."""
    out = []
    for line in code.split("\n"):
        body = line.lstrip("\t")
        pieces = re.split(r'("(?:[^"\\\n]|\\.)*"|`[^`]*`)', body)
        for i in range(0, len(pieces), 2):
            pieces[i] = re.sub(r"\s*(:=|==|!=|=|\+|,)\s*", lambda m: f" {m.group(1)} ", pieces[i])
        out.append("    " * (len(line) - len(body)) + "".join(pieces).rstrip())
    return "\n".join(out)


def embedded_as(fence: str) -> Transform:
    """The excerpt inside a chat message, fenced with ``fence`` half of the time."""

    def embed(code: str, rng: random.Random) -> str:
        return py.embedded(code, rng).replace("```python\n", f"```{fence}\n", 1)

    return embed


def languages(args: argparse.Namespace) -> list[Language]:
    """The three languages, each only when its code is installed here."""
    site, extra, node = py.SITE, Path(args.py_extra), Path(args.node_modules)
    found = []
    python = Language(
        "Python", PYTHON, "python", (".py",),
        {p: site / p for p in ("flask", "werkzeug", "tornado")},
        {p: extra / p for p in ("bottle.py", "falcon", "pyramid")},
        {p: extra / p for p in ("starlette", "sanic", "aiohttp")},
        [site / p for p in ("anyio", "h11", "httpx", "click", "jinja2", "requests", "urllib3")],
        {**py.KINDS, "embedded": embedded_as("python")},
    )  # fmt: skip
    go = Language(
        "Go", GO, "go", (".go",),
        {"gin": GOCODE / "gin-gonic/gin", "echo": GOCODE / "labstack/echo",
         "chi": GOCODE / "go-chi/chi"},
        {"fasthttp": GOCODE / "valyala/fasthttp", "mux": GOCODE / "gorilla/mux"},
        {"negroni": GOCODE / "urfave/negroni", "websocket": GOCODE / "gorilla/websocket",
         "handlers": GOCODE / "gorilla/handlers"},
        [GOCODE / p for p in ("julienschmidt/httprouter", "go-playground", "labstack/gommon",
                              "stretchr", "davecgh")],
        {"exact": py.KINDS["exact"], "renamed": lambda c, _r: go_renamed(c),
         "reformatted": lambda c, _r: go_reformatted(c),
         "comment-edited": jsb.KINDS["comment-edited"],
         "embedded": embedded_as("go")},
    )  # fmt: skip
    javascript = Language(
        "JavaScript", JS, "js", (".js", ".mjs", ".cjs", ".ts"),
        {p: node / p for p in ("fastify", "koa", "express")},
        {p: node / p for p in ("restify", "@hapi", "spdy")},
        {p: node / p for p in ("connect", "formidable", "qs", "pino")},
        [Path("/usr/lib/node_modules")],
        {**jsb.KINDS, "embedded": embedded_as("js")},
    )  # fmt: skip
    for language in (python, go, javascript):
        roots = [*language.proprietary.values(), *language.tune.values()]
        missing = [str(root) for root in [*roots, *language.held_out.values()] if not root.exists()]
        if missing:
            print(f"skipping {language.name}: missing {', '.join(missing)} (see the docstring)")
        else:
            found.append(language)
    return found


def source_files(root: Path, suffixes: tuple[str, ...]) -> list[Path]:
    """The source files under ``root`` (or ``root`` itself) the index would read."""
    if root.is_file():
        return [root]
    return sorted(
        p
        for p in root.rglob("*")
        if p.suffix in suffixes
        and "node_modules" not in p.relative_to(root).parts
        and not skipped_path(p.relative_to(root).as_posix())
        and skipped_content(p.read_bytes()) is None
    )


@dataclasses.dataclass
class Found:
    """What two matchers found in one query: one reporting every candidate (for tuning), one
    with the shipped thresholds (its fallbacks, such as trying the next language family when
    nothing passes, depend on them)."""

    every: list[CodeMatch]
    shipped: list[CodeMatch]


def verdict(found: Found, limits: Thresholds) -> CodeMatch | None:
    """The match reported under ``limits``: the shipped matcher's own answer for the shipped
    thresholds, else the candidates judged by ``limits``."""
    if limits == Thresholds():
        return py.fires(found.shipped, limits)
    return py.fires(found.every, limits)


Positive = tuple[str, str, int, str, str, int, Found, str]
"""(language, kind, lines, repository, path, first line, what the matcher found, query)."""
Negative = tuple[str, str, str, Found, str, str]
"""(language, type: unrelated or boilerplate, half, what the matcher found, source, query)."""


BENCH_LIMITS = Thresholds(raw=1, renamed=1, sure=1, min_score=0)
"""One matcher reports every candidate, for the tuning grid to judge afterwards."""
BENCH_CACHE = Path.home() / ".cache" / "egress-watch" / "bench"
"""Where the bench's extra public code is installed (outside the checkout, never committed)."""


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--per-cell", type=int, default=30, help="queries per kind and length")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument(
        "--seeds", default="", help="several draws on one index, e.g. 5,9,13 (overrides --seed)"
    )
    parser.add_argument("--no-tune", action="store_true", help="report shipped defaults only")
    parser.add_argument("--save", default="", help="pickle every query's matches to this file")
    parser.add_argument(
        "--keep-index",
        default="",
        help="build the index in this folder and keep it; reuse it "
        "if it is there already (only while fingerprints and index format are unchanged)",
    )
    parser.add_argument("--py-extra", default=str(BENCH_CACHE / "py"))
    parser.add_argument("--node-modules", default=str(BENCH_CACHE / "node" / "node_modules"))
    parser.add_argument("-v", action="store_true", help="print false positives and misses")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",") if s] or [args.seed]
    if args.keep_index:
        Path(args.keep_index).mkdir(parents=True, exist_ok=True)
        run(args, seeds, Path(args.keep_index))
        return
    workdir = Path(tempfile.mkdtemp(prefix="bench-languages-"))
    try:
        run(args, seeds, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def run(args: argparse.Namespace, seeds: list[int], workdir: Path) -> None:
    """Index once, then per draw: query, tune, report."""
    chosen = languages(args)
    db = workdir / "code-index.db"
    if db.exists():  # --keep-index, second run: the draws only, no cost table
        query_draws(args, seeds, chosen, db)
        return
    conn = open_index(db)
    started = time.perf_counter()
    # The product's default background (every public source installed here, the Go modules
    # included) plus each language's extras, less every framework the bench indexes or
    # queries as unrelated: code in the background could never alert, so leaving them in
    # would flatter both recall's denominator and the false positives.
    roots = default_background() + [r for lang in chosen for r in lang.background if r.exists()]
    queried = [r for lang in chosen for r in (*lang.proprietary.values(), *lang.tune.values(),
                                              *lang.held_out.values())]  # fmt: skip
    background = build_background(conn, roots, exclude=queried)
    background_seconds = time.perf_counter() - started
    total = {lang.name: 0 for lang in chosen}
    seconds: dict[str, float] = {}
    cpu: dict[str, float] = {}
    for lang in chosen:
        started, used = time.perf_counter(), _cpu()
        for name, root in lang.proprietary.items():
            total[lang.name] += add_repo(conn, root, name).bytes_read
        seconds[lang.name] = time.perf_counter() - started
        cpu[lang.name] = _cpu() - used
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    public = py._table_bytes(conn, "background")
    conn.close()
    size = db.stat().st_size
    timings, cpu_timings = query_draws(args, seeds, chosen, db)
    print(f"\n{describe_background(background)}")
    print(
        f"\n== cost (shared 2-core machine) ==\nbackground, built once: "
        f"{background.bytes / 1e6:.1f} MB of public code ({background.files} files) in "
        f"{background_seconds:.1f} s = {background.bytes / 1e6 / background_seconds:.2f} MB/s, "
        f"{background.hashes} common k-grams"
    )
    for lang in chosen:
        mb = total[lang.name] / 1e6
        print(f"index add, {lang.name}: {mb:.1f} MB in {seconds[lang.name]:.1f} s = "
              f"{mb / seconds[lang.name]:.2f} MB/s wall; {cpu[lang.name]:.1f} s of CPU "
              f"(all processes) = {mb / cpu[lang.name]:.2f} MB per CPU-second")  # fmt: skip
    source = sum(total.values())
    print(
        f"index file: {size / 1e6:.1f} MB for {source / 1e6:.1f} MB = {size / source:.2f} MB per "
        f"MB, {(size - public) / source:.2f} without the {public / 1e6:.1f} MB background table"
    )
    for label, values in (("wall", timings), ("CPU", cpu_timings)):
        values.sort()
        print(
            f"query ({label}): p50 {statistics.median(values) * 1000:.2f} ms, "
            f"p95 {values[int(0.95 * len(values))] * 1000:.2f} ms over {len(values)} queries"
        )


def query_draws(
    args: argparse.Namespace, seeds: list[int], chosen: list[Language], db: Path
) -> tuple[list[float], list[float]]:
    """Per draw: query, tune, report. Returns the wall and CPU time of every query (through
    the shipped matcher)."""
    matcher, every = Matcher(db), Matcher(db, BENCH_LIMITS)
    timings: list[float] = []
    cpu_timings: list[float] = []

    def query(text: str) -> Found:
        t0, c0 = time.perf_counter(), time.process_time()
        shipped = matcher.match(text)
        timings.append(time.perf_counter() - t0)
        cpu_timings.append(time.process_time() - c0)
        return Found(every.match(text), shipped)

    saved = {}
    for seed in seeds:
        rng = random.Random(seed)
        positives: list[Positive] = []
        negatives: list[Negative] = []
        for lang in chosen:
            positives += positives_of(lang, args.per_cell, rng, query)
            negatives += negatives_of(lang, args.per_cell, rng, query, args.v)
        saved[seed] = (positives, negatives)
        titled = [("shipped defaults", Thresholds())]
        if not args.no_tune:
            titled.append(("tuned on the tuning half", tune(positives, negatives)))
        for title, limits in titled:
            print(
                f"\n== seed {seed}, {title}: raw {limits.raw}, renamed {limits.renamed} "
                f"(+{limits.renamed_exact} exact), sure {limits.sure}, share {limits.min_score} "
                f"(under {limits.renamed} tokens {limits.short_share}) =="
            )
            report(chosen, positives, negatives, limits, args.v)
    if args.save:
        Path(args.save).write_bytes(pickle.dumps(saved))
    return timings, cpu_timings


def _cpu() -> float:
    """CPU seconds used so far by this process and its finished workers (load-independent)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def _excerpt(
    rng: random.Random, files: list[Path], length: int, lang: Language
) -> py.Excerpt | None:
    return py.excerpt(rng, files, length, lang.family)


def positives_of(
    lang: Language, per_cell: int, rng: random.Random, query: Callable[[str], Found]
) -> list[Positive]:
    """Excerpts of every length from the proprietary frameworks, each in every kind."""
    out: list[Positive] = []
    names = list(lang.proprietary)
    files = {n: source_files(lang.proprietary[n], lang.suffixes) for n in names}
    for length in LENGTHS:
        for number in range(per_cell):
            name = names[number % len(names)]
            picked = _excerpt(rng, files[name], length, lang)
            if picked is None:
                continue
            path, first, code = picked
            relative = path.relative_to(lang.proprietary[name]).as_posix()
            for kind, make in lang.kinds.items():
                text = make(code, rng)
                found = query(text)
                out.append((lang.name, kind, length, name, relative, first, found, text))
    return out


def negatives_of(
    lang: Language,
    per_cell: int,
    rng: random.Random,
    query: Callable[[str], Found],
    verbose: bool,
) -> list[Negative]:
    """Unrelated frameworks' excerpts (as is or in chat) and boilerplate, per half."""
    out: list[Negative] = []
    embed = lang.kinds["embedded"]
    for half, packages in (("tune", lang.tune), ("held-out", lang.held_out)):
        files = {n: source_files(root, lang.suffixes) for n, root in packages.items()}
        names = [n for n in files if files[n]]
        for length in LENGTHS:
            for number in range(per_cell * 2):
                picked = _excerpt(rng, files[names[number % len(names)]], length, lang)
                if picked is None:
                    continue
                text = picked[2] if rng.random() < 0.5 else embed(picked[2], rng)
                found = query(text)
                source = f"{picked[0]}:{picked[1]}"
                out.append((lang.name, "unrelated", half, found, source, text))
                if verbose and (hit := verdict(found, Thresholds())):
                    print("FP", lang.name, half, picked[0], picked[1], "->", hit)
        snippets = BOILERPLATE[lang.family]
        mine = snippets[: len(snippets) // 2] if half == "tune" else snippets[len(snippets) // 2 :]
        for snippet in mine:
            for text in (snippet, embed(snippet, rng)):
                found = query(text)
                out.append((lang.name, "boilerplate", half, found, "boilerplate", text))
                if verbose and (hit := verdict(found, Thresholds())):
                    print("FP boilerplate", lang.name, half, snippet[:60], "->", hit)
    return out


def rate(rows: list[Negative], limits: Thresholds) -> tuple[int, int]:
    return sum(1 for row in rows if verdict(row[3], limits)), len(rows)


def tune(positives: list[Positive], negatives: list[Negative]) -> Thresholds:
    """The floors with the best recall whose tuning-half FPR is <= 1 % overall and <= 3 % on
    boilerplate."""
    tuning = [n for n in negatives if n[2] == "tune"]
    boiler = [n for n in tuning if n[1] == "boilerplate"]
    best, best_recall = Thresholds(), -1.0
    for raw in (8, 10, 12, 16, 20, 24):
        for renamed in (16, 22, 28, 34):
            for renamed_exact in (0, 8):
                for sure in (40, 50, 60):
                    for share in (0.5, 0.6, 0.7):
                        limits = dataclasses.replace(
                            Thresholds(), raw=raw, renamed=renamed, sure=sure,
                            renamed_exact=renamed_exact, min_score=share,
                        )  # fmt: skip
                        fp, n = rate(tuning, limits)
                        bfp, bn = rate(boiler, limits)
                        if fp > 0.01 * n or bfp > 0.03 * bn:
                            continue
                        recall = sum(1 for p in positives if verdict(p[6], limits))
                        if recall > best_recall:
                            best, best_recall = limits, recall
    return best


def report(
    chosen: list[Language],
    positives: list[Positive],
    negatives: list[Negative],
    limits: Thresholds,
    verbose: bool,
) -> None:
    """Recall per language, kind and length; FP per type, half and language; right place."""
    detected = right = 0
    for lang in chosen:
        print(f"\n{lang.name:<16}" + "".join(f"{f'{n} lines':>14}" for n in LENGTHS))
        for kind in lang.kinds:
            cells = []
            for length in LENGTHS:
                rows = [p for p in positives if p[:3] == (lang.name, kind, length)]
                hits = 0
                for _, _, _, repo, path, first, found, _ in rows:
                    match = verdict(found, limits)
                    if match is None:
                        if verbose and length >= 15:
                            print("MISS", lang.name, kind, length, repo, path, first)
                        continue
                    hits += 1
                    detected += 1
                    last = first + length - 1
                    right += (match.repo, match.path) == (repo, path) and (
                        match.start_line <= last and match.end_line >= first
                    )
                cells.append(f"{hits / max(1, len(rows)):.1%} ({len(rows)})")
            print(f"{kind:<16}" + "".join(f"{c:>14}" for c in cells))
        five = [p for p in positives if p[0] == lang.name and p[2] == 5]
        got = sum(1 for p in five if verdict(p[6], limits))
        print(f"{'5 lines overall':<16}{got / max(1, len(five)):>14.1%}")
    five = [p for p in positives if p[2] == 5]
    found_five = sum(1 for p in five if verdict(p[6], limits))
    print(f"\n5-line excerpts, all languages: {found_five / max(1, len(five)):.1%}")
    print(f"right file and overlapping lines: {right}/{detected} = {right / max(1, detected):.1%}")
    print(
        f"{'false positives':<26}" + "".join(f"{lang.name:>14}" for lang in chosen) + f"{'all':>14}"
    )
    for kind in ("unrelated", "boilerplate", "any"):
        for half in ("tune", "held-out"):
            cells = []
            for lang_name in [lang.name for lang in chosen] + ["all"]:
                rows = [
                    n for n in negatives
                    if n[2] == half and kind in ("any", n[1]) and lang_name in ("all", n[0])
                ]  # fmt: skip
                fp, n = rate(rows, limits)
                cells.append(f"{fp}/{n} {fp / max(1, n):.1%}")
            print(f"{kind + ' (' + half + ')':<26}" + "".join(f"{c:>14}" for c in cells))


if __name__ == "__main__":
    main()

"""The tokenizer (and line hashing) against an earlier version: identical output, and speed.

Loads ``egress_watch/classify/proprietary/tokenize.py`` and ``lines.py`` as they were at
``--against`` (``git show REV:path`` into temporary modules) and runs both over every source
file installed here
that the code index reads (what ``skipped_content`` lets through): this interpreter's standard
library and site-packages, the project's virtualenv, Go sources (``/usr/share/gocode``,
``/usr/share/go-*/src``), ``/usr/lib/node_modules`` (.js .ts .mjs .cjs), Java files from the
JDK's ``src.zip``, Rust files, plus bounded samples of C headers, shell/Ruby/Perl and
SQL/Lua. Every output is compared: values, lines, character starts and ends, the spans of
multi-line literals (``offsets=True``), values and lines without offsets, the rename-proof
channel and the line hashes (for indexing and for queries). Then excerpts cut at random lines
(a bounded sample; the proxy
tokenizes excerpts that start or end inside strings) are compared the same way.

Prints, per language, files, MB, tokens, mismatches (must be 0) and CPU seconds per MB for
the old and the new tokenizer measured in the same run (each file is read by both, in
alternating order), and the load average, since this machine is shared.

    uv run python bench/check_tokenizer.py --against 8943074 [--max-mb 20] [--excerpts 3000]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import random
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from egress_watch.classify.proprietary import lines as new_lines  # noqa: E402
from egress_watch.classify.proprietary import tokenize as new_tokenize  # noqa: E402
from egress_watch.classify.proprietary.files import skipped_content  # noqa: E402

MODULE_PATHS = (
    "egress_watch/classify/proprietary/tokenize.py",
    "egress_watch/classify/proprietary/lines.py",
)
FIELDS = (
    "values", "lines", "starts", "ends", "full.values", "full.lines", "full.starts", "full.ends",
    "spans", "renamed", "line_hashes(indexing)", "line_hashes",
)  # fmt: skip
"""What ``_outputs`` gives, by name (a mismatch names the outputs that differ)."""
JDK_ZIPS = sorted(Path("/usr/lib/jvm").glob("*/lib/src.zip"))


@dataclass(frozen=True)
class Side:
    """One version: its tokenizer and line-hashing modules."""

    name: str
    tokenize: ModuleType
    lines: ModuleType


def load_old(rev: str, module_path: str) -> ModuleType:
    """``module_path`` as it was at ``rev``, loaded under another name (its imports are
    the standard library's only)."""
    git = shutil.which("git") or "git"
    source = subprocess.run(
        [git, "show", f"{rev}:{module_path}"], cwd=ROOT, capture_output=True, text=True
    )
    if source.returncode != 0:
        sys.exit(f"cannot read {module_path} at {rev}: {source.stderr.strip()}")
    name = "old_" + Path(module_path).stem
    path = Path(tempfile.mkdtemp(prefix="old-tokenize-")) / f"{name}.py"
    path.write_text(source.stdout)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _files(root: Path, suffixes: tuple[str, ...]) -> list[Path]:
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*") if p.name.endswith(suffixes) and p.is_file())


def _bounded[T](paths: list[T], max_files: int) -> list[T]:
    """A spread-out, repeatable subset of at most ``max_files`` paths (0: all)."""
    if not max_files or len(paths) <= max_files:
        return paths
    step = len(paths) / max_files
    return [paths[int(i * step)] for i in range(max_files)]


def corpora(
    java_files: int, sample_files: int
) -> dict[str, Callable[[], Iterator[tuple[str, bytes]]]]:
    """Each corpus: a name and a reader yielding (file name, bytes)."""
    python_roots = {Path(sysconfig.get_paths()["stdlib"]), Path(sysconfig.get_paths()["purelib"])}
    python_roots |= set((ROOT / ".venv" / "lib").glob("python*/site-packages"))

    def read(paths: list[Path]) -> Iterator[tuple[str, bytes]]:
        seen: set[Path] = set()
        for path in paths:
            real = path.resolve()
            if real in seen:
                continue
            seen.add(real)
            try:
                yield path.name, path.read_bytes()
            except OSError:
                continue

    def python() -> Iterator[tuple[str, bytes]]:
        # The virtualenv lies outside the interpreter's folder; site-packages lies inside it.
        paths = [p for root in sorted(python_roots) for p in _files(root, (".py", ".pyi"))]
        return read(paths)

    def go() -> Iterator[tuple[str, bytes]]:
        roots = [Path("/usr/share/gocode"), *sorted(Path("/usr/share").glob("go-*/src"))]
        return read([p for root in roots for p in _files(root, (".go",))])

    def js() -> Iterator[tuple[str, bytes]]:
        return read(_files(Path("/usr/lib/node_modules"), (".js", ".ts", ".mjs", ".cjs")))

    def java() -> Iterator[tuple[str, bytes]]:
        if not JDK_ZIPS:
            return
        with zipfile.ZipFile(JDK_ZIPS[-1]) as archive:
            names = sorted(n for n in archive.namelist() if n.endswith(".java"))
            for name in _bounded(names, java_files):
                yield name, archive.read(name)

    def rust() -> Iterator[tuple[str, bytes]]:
        roots = [Path.home() / ".rustup", Path.home() / ".cargo", Path("/usr/share/cargo")]
        return read([p for root in roots for p in _files(root, (".rs",))])

    def c_headers() -> Iterator[tuple[str, bytes]]:
        return read(_bounded(_files(Path("/usr/include"), (".h",)), sample_files))

    def hash_comments() -> Iterator[tuple[str, bytes]]:
        roots = [Path("/usr/share"), Path("/usr/lib")]
        suffixes = (".sh", ".bash", ".rb", ".pl")
        return read(_bounded([p for r in roots for p in _files(r, suffixes)], sample_files))

    def generic() -> Iterator[tuple[str, bytes]]:
        roots = [Path("/usr/share"), Path("/usr/lib")]
        return read(_bounded([p for r in roots for p in _files(r, (".sql", ".lua"))], sample_files))

    return {
        "python": python,
        "go": go,
        "js/ts": js,
        "java": java,
        "rust": rust,
        "c headers": c_headers,
        "sh/rb/pl": hash_comments,
        "sql/lua": generic,
    }


@dataclass
class Tally:
    """What one corpus gave: sizes, mismatches and CPU seconds per tokenizer and mode."""

    files: int = 0
    size: int = 0
    tokens: int = 0
    mismatches: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)

    def add_time(self, key: str, seconds: float) -> None:
        self.seconds[key] = self.seconds.get(key, 0.0) + seconds


def _timed(call: Callable[[], Any]) -> tuple[Any, float]:
    start = time.process_time()
    result = call()
    return result, time.process_time() - start


def _outputs(side: Side, text: str, language: str, tally: Tally) -> tuple[Any, ...]:
    """Everything one version gives for ``text``, timing each call under the side's name."""
    tokenize, lines = side.tokenize, side.lines
    bare, seconds = _timed(lambda: tokenize.tokenize(text, language, False))
    tally.add_time(f"{side.name} offsets=False", seconds)
    spans: list[tuple[int, int]] = []
    full, seconds = _timed(lambda: tokenize.tokenize(text, language, True, spans))
    tally.add_time(f"{side.name} offsets=True", seconds)
    renamed, seconds = _timed(lambda: tokenize.renamed_channel(bare.values))
    tally.add_time(f"{side.name} renamed_channel", seconds)
    indexed, seconds = _timed(lambda: lines.line_hashes(text, indexing=True))
    tally.add_time(f"{side.name} line_hashes", seconds)
    return (
        bare.values, bare.lines, bare.starts, bare.ends,
        full.values, full.lines, full.starts, full.ends, spans, renamed,
        indexed, lines.line_hashes(text),
    )  # fmt: skip


def compare(old: Side, new: Side, text: str, language: str, tally: Tally, label: str) -> None:
    """Read ``text`` with both versions (order alternating) and count a mismatch."""
    first, second = (new, old) if tally.files % 2 else (old, new)
    a = _outputs(first, text, language, tally)
    b = _outputs(second, text, language, tally)
    tally.files += 1
    tally.size += len(text.encode("utf-8", "surrogatepass"))
    tally.tokens += len(a[0])
    if a != b:
        tally.mismatches += 1
        if len(tally.examples) < 5:
            bad = [f for f, x, y in zip(FIELDS, a, b, strict=True) if x != y]
            tally.examples.append(f"{label}: {', '.join(bad)}")


def excerpt_of(text: str, rng: random.Random) -> str:
    """Lines ``first..last`` of ``text``, cut anywhere (inside strings and comments too)."""
    lines = text.split("\n")
    first = rng.randrange(len(lines))
    last = min(len(lines), first + rng.randrange(1, 60))
    return "\n".join(lines[first:last])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--against", default="8943074", help="git revision of the old tokenizer")
    parser.add_argument("--max-mb", type=float, default=0, help="stop a corpus after this many MB")
    parser.add_argument("--java-files", type=int, default=3000)
    parser.add_argument("--sample-files", type=int, default=1500, help="C, sh/rb/pl, SQL/Lua")
    parser.add_argument("--excerpts", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()
    old = Side("old", *(load_old(args.against, path) for path in MODULE_PATHS))
    new = Side("new", new_tokenize, new_lines)
    rng = random.Random(args.seed)  # a repeatable sample
    print(f"old: {', '.join(MODULE_PATHS)} at {args.against}; load average {os.getloadavg()}")
    pool: list[tuple[str, str, str]] = []  # (label, text, language) to cut excerpts from
    tallies: dict[str, Tally] = {}
    started = time.monotonic()
    seen = 0
    for name, reader in corpora(args.java_files, args.sample_files).items():
        tally = tallies[name] = Tally()
        for file_name, data in reader():
            language = new_tokenize.language_of(file_name)
            if language is None or skipped_content(data) is not None:
                continue
            text = data.decode("utf-8", "replace")
            compare(old, new, text, language, tally, f"{name} {file_name}")
            seen += 1
            if len(pool) < args.excerpts:
                pool.append((file_name, text, language))
            else:  # a reservoir: every file has the same chance to be cut
                slot = rng.randrange(seen)
                if slot < len(pool):
                    pool[slot] = (file_name, text, language)
            if args.max_mb and tally.size > args.max_mb * 1e6:
                break
        print(
            f"  {name}: {tally.files} files read ({time.monotonic() - started:.0f} s)", flush=True
        )
    excerpts = tallies["excerpts"] = Tally()
    for _ in range(args.excerpts):
        if not pool:
            break
        file_name, text, language = rng.choice(pool)
        compare(old, new, excerpt_of(text, rng), language, excerpts, f"excerpt of {file_name}")
    report(tallies)
    print(f"load average at the end {os.getloadavg()}; {time.monotonic() - started:.0f} s")
    if any(t.mismatches for t in tallies.values()):
        sys.exit(1)


def report(tallies: dict[str, Tally]) -> None:
    modes = ("offsets=False", "offsets=True", "renamed_channel", "line_hashes")
    head = f"{'corpus':<10} {'files':>6} {'MB':>7} {'tokens':>10} {'mismatch':>8}"
    print(head + "".join(f" | {m + ' old/new s/MB':>30}" for m in modes))
    total = Tally()
    for name, tally in tallies.items():
        print(_row(name, tally, modes))
        total.files += tally.files
        total.size += tally.size
        total.tokens += tally.tokens
        total.mismatches += tally.mismatches
        for key, seconds in tally.seconds.items():
            total.add_time(key, seconds)
    print(_row("all", total, modes))
    for tally in tallies.values():
        for example in tally.examples:
            print("  MISMATCH", example)


def _row(name: str, tally: Tally, modes: tuple[str, ...]) -> str:
    mb = max(tally.size / 1e6, 1e-9)
    cells = []
    for mode in modes:
        was, now = (
            tally.seconds.get(f"old {mode}", 0.0) / mb,
            tally.seconds.get(f"new {mode}", 0.0) / mb,
        )
        cells.append(f" | {was:9.4f} {now:9.4f} ({was / max(now, 1e-9):4.2f}x)")
    return (
        f"{name:<10} {tally.files:>6} {mb:7.1f} {tally.tokens:>10} {tally.mismatches:>8}"
        + "".join(cells)
    )


if __name__ == "__main__":
    main()

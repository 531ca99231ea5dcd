"""Every tokenizer over real source installed on this machine: nothing runs away.

The property: no string, comment or import swallows more than ``MAX_SPAN_LINES`` lines, and
an excerpt cut at any lines tokenizes as its source does (apart from its first and last line,
and apart from a string the cut falls inside of, whose other side the excerpt cannot know).
A run-away string (a regex literal holding a backtick read as a template, a Go raw string
ending in a backslash) shifts everything after it, so its excerpts no longer match.

Python comes from this environment's site-packages (always present); Go sources, Node
packages and the JDK's ``src.zip`` are read when the machine has them (skipped with the
reason otherwise). Each corpus gets a bounded sample and a time budget.
"""

from __future__ import annotations

import random
import sysconfig
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from egress_watch.classify.proprietary.excerpts import excerpt_tokens
from egress_watch.classify.proprietary.files import skipped_content
from egress_watch.classify.proprietary.prompt import Region
from egress_watch.classify.proprietary.tokenize import CLIKE, GO, JS, PYTHON, tokenize

MAX_SPAN_LINES = 2500
"""The longest legitimate literal seen here is a 2,059-line schema string (ldap3)."""
SECONDS_PER_CORPUS = 8.0
FILES_PER_CORPUS = 600
CUTS_PER_FILE = 3
AGREEMENT = 0.995
"""Share of excerpts that must read as their source: an excerpt holding a quote whose other
side it cannot see is read by guessing which side is code."""
AGREEMENT_CUT_INSIDE = 0.9
"""The same for excerpts cut inside a multi-line string: a docstring full of example code or
a Go raw string holding Go code is where the guess fails."""

SITE = Path(sysconfig.get_paths()["purelib"])
GO_ROOTS = sorted(Path("/usr/share").glob("go-*/src")) + sorted(Path("/usr/lib").glob("go-*/src"))
NODE_ROOTS = [p for p in (Path("/usr/lib/node_modules"), Path("/usr/local/lib/node_modules"))]
JDK_ZIPS = sorted(p for p in Path("/usr/lib/jvm").glob("*/lib/src.zip") if p.exists())


def _sample(paths: list[Path]) -> list[Path]:
    """A spread-out, repeatable sample of at most ``FILES_PER_CORPUS`` paths."""
    paths.sort()
    step = max(1, len(paths) // FILES_PER_CORPUS)
    return paths[::step][:FILES_PER_CORPUS]


def _read(paths: list[Path]) -> Iterator[str]:
    for path in paths:
        data = path.read_bytes()
        if skipped_content(data) is None:
            yield data.decode("utf-8", "replace")


def python_sources() -> Iterator[str]:
    return _read(_sample(list(SITE.rglob("*.py"))))


def go_sources() -> Iterator[str]:
    if not GO_ROOTS:
        pytest.skip("no Go sources here (Debian: apt-get install golang-src)")
    return _read(_sample(list(GO_ROOTS[-1].rglob("*.go"))))


def js_sources() -> Iterator[str]:
    roots = [root for root in NODE_ROOTS if root.is_dir()]
    if not roots:
        pytest.skip("no node_modules here (npm installs one)")
    suffixes = (".js", ".mjs", ".cjs", ".ts")
    return _read(_sample([p for root in roots for p in root.rglob("*") if p.suffix in suffixes]))


def java_sources() -> Iterator[str]:
    if not JDK_ZIPS:
        pytest.skip("no JDK src.zip here (Debian: apt-get install openjdk-17-source)")
    with zipfile.ZipFile(JDK_ZIPS[0]) as archive:
        names = [n for n in archive.namelist() if n.endswith(".java")]
        step = max(1, len(names) // FILES_PER_CORPUS)
        for name in names[::step][:FILES_PER_CORPUS]:
            data = archive.read(name)
            if skipped_content(data) is None:
                yield data.decode("utf-8", "replace")


CORPORA = {
    PYTHON: python_sources,
    GO: go_sources,
    JS: js_sources,
    CLIKE: java_sources,
}


def excerpt_reads_as_source(
    text: str, language: str, rng: random.Random
) -> Iterator[tuple[bool, bool]]:
    """(cut inside a multi-line string, tokens agree) for a few excerpts of ``text``."""
    spans: list[tuple[int, int]] = []
    whole = tokenize(text, language, spans=spans)
    assert max((last - first for first, last in spans), default=0) <= MAX_SPAN_LINES
    lines = text.split("\n")
    if len(lines) < 12:
        return
    for _ in range(CUTS_PER_FILE):
        first = rng.randrange(1, len(lines) - 5)
        last = min(len(lines), first + rng.randrange(4, 40))
        low, high, cut_inside = first, last, False
        for start, end in spans:
            if start < first <= end:
                low, cut_inside = max(low, end), True
            if start <= last < end:
                high = min(high, start)
        excerpt = "\n".join(lines[first - 1 : last])
        got = excerpt_tokens(Region(0, excerpt, language))
        shift = first - 1
        want = [v for v, n in zip(whole.values, whole.lines, strict=True) if low < n < high]
        have = [v for v, n in zip(got.values, got.lines, strict=True) if low < n + shift < high]
        yield cut_inside, want == have


@pytest.mark.parametrize("language", list(CORPORA))
def test_excerpts_of_real_sources_tokenize_as_their_source(language: str) -> None:
    rng = random.Random(17)  # noqa: S311 - a repeatable sample, not a secret
    deadline = time.monotonic() + SECONDS_PER_CORPUS
    clean = inside = inside_agree = files = 0
    disagreements: list[str] = []
    for text in CORPORA[language]():
        for cut_inside, agree in excerpt_reads_as_source(text, language, rng):
            if cut_inside:
                inside += 1
                inside_agree += agree
            else:
                clean += 1
                if not agree:
                    disagreements.append(text[:80])
        files += 1
        if time.monotonic() > deadline:
            break
    assert files >= 20
    assert len(disagreements) <= (1 - AGREEMENT) * clean, f"of {clean}: {disagreements[:3]}"
    assert inside_agree >= AGREEMENT_CUT_INSIDE * inside, f"{inside_agree}/{inside} cut inside"

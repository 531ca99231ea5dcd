"""Nothing stalls: every detector's time grows linearly with its input (issue 15, item 2).

Each pattern of tests/support/pathological.py goes through the engine the proxy builds, at a
base size and at four times that size, in the same run; the test asserts the ratio of the two
CPU times, never an absolute time, so a loaded machine does not fail it. A linear detector gives
about 4, a quadratic one about 16. CPU time of this thread, best of two, keeps other processes'
load and the odd garbage collection out of the ratio.

The default base is 64 KB (so the whole file adds a few seconds); the issue's own sizes (1 MB
and 4 MB) are ``EW_PATHOLOGICAL_BASE_KB=1024``; bench/bench_pathological.py prints the table.
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from egress_watch.classify.cache import FindingCache
from egress_watch.classify.engine import Engine
from egress_watch.cli.main import cli
from egress_watch.model import Segment
from tests.support.pathological import PATTERNS, proxy_engine

BASE = int(os.environ.get("EW_PATHOLOGICAL_BASE_KB", "64")) * 1024
FACTOR = 4
MAX_RATIO = 6.0  # linear is ~4 (n log n sorting adds a little); quadratic is ~16


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    return proxy_engine(str(tmp_path_factory.mktemp("config")))


def cpu_seconds(engine: Engine, text: str, repeats: int = 2) -> float:
    """Best CPU time of this thread to classify ``text`` with an empty cache."""
    best = float("inf")
    for _ in range(repeats):
        engine.cache = FindingCache()  # a warm cache would answer without scanning
        started = time.thread_time()
        engine.classify_segments([Segment("user", text)])
        best = min(best, time.thread_time() - started)
    return max(best, 1e-4)


@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_classify_time_grows_linearly(engine: Engine, name: str) -> None:
    make: Callable[[int], str] = PATTERNS[name]
    small, large = make(BASE), make(BASE * FACTOR)
    assert len(small) == BASE
    assert len(large) == BASE * FACTOR
    ratio = cpu_seconds(engine, large, repeats=1) / cpu_seconds(engine, small)
    if ratio >= MAX_RATIO:  # one retry: a single slow sample is not a trend
        ratio = min(ratio, cpu_seconds(engine, large, repeats=1) / cpu_seconds(engine, small))
    assert ratio < MAX_RATIO, f"{name}: {FACTOR}x the input took {ratio:.1f}x the time"


def test_repeated_internal_urls_are_each_reported_once(engine: Engine) -> None:
    """The issue's row: every URL of a private host is one finding, its address no second one."""
    text = PATTERNS["urls"](22 * 1000)  # "http://10.0.0.1/a?x=1 " is 22 characters
    found = engine.classify_segments([Segment("user", text)])
    assert len(found) == 1000
    assert {f.rule for f in found} == {"internal-url"}


def test_emails_next_to_each_other_are_all_found(engine: Engine) -> None:
    text = " ".join(f"user{n}.x@corp-mail.io" for n in range(50))
    found = [f for f in engine.classify_segments([Segment("user", text)]) if f.rule == "email"]
    assert len(found) == 50
    assert all(text[f.start : f.end].endswith("@corp-mail.io") for f in found)


def test_an_internal_domain_after_a_long_hyphenated_run_is_still_found(engine: Engine) -> None:
    text = "a-" * 20_000 + " build01.eu.corp.example and a." * 3
    found = engine.classify_segments([Segment("user", text)])
    assert [text[f.start : f.end] for f in found if f.rule == "internal-domain"] == [
        "build01.eu.corp.example"
    ] * 3


def scan_cpu_seconds(path: Path) -> tuple[float, str]:
    """CPU time of ``egress-watch scan FILE`` (in this thread) and what it printed.

    The cyclic garbage collector is paused while it runs: a full collection walks the whole
    test session's heap, a cost that grows with the suite, not with the scanned text."""
    gc.collect()
    gc.disable()
    try:
        started = time.thread_time()
        result = CliRunner().invoke(cli, ["scan", str(path)], catch_exceptions=False)
        return time.thread_time() - started, result.stdout
    finally:
        gc.enable()


def test_cli_scan_of_many_findings_is_linear_and_names_each_line(tmp_path: Path) -> None:
    """The issue's ``egress-watch scan`` row: a line number per finding, not a count of the
    whole text's line breaks per finding."""
    line = "see http://10.0.0.1/a?x=1 now\n"
    small, large = tmp_path / "small.txt", tmp_path / "large.txt"
    small.write_text(line * (2 * BASE // len(line)))
    large.write_text(line * (2 * BASE * FACTOR // len(line)))
    scan_cpu_seconds(small)  # warm up: the first scan builds the engine's tables
    small_seconds, _ = scan_cpu_seconds(small)
    large_seconds, out = scan_cpu_seconds(large)
    lines = out.splitlines()
    assert len(lines) == 2 * BASE * FACTOR // len(line)
    assert lines[-1].startswith(f"{large}:{len(lines)}: medium infra/internal-url")
    assert large_seconds / max(small_seconds, 1e-4) < MAX_RATIO

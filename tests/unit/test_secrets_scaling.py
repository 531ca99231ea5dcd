"""The secret scan stays linear on hostile text: repeated key prefixes, PEM headers, hex and
base64 runs, a line without a newline, repeated ``user:pass@host``. Each shape is timed at two
sizes (x and 4x; x is 32 KB, more for the cheap shapes) in one run, garbage collection paused
(a full collection of the test process costs more than a fast scan). Four times the text may
cost at most ~6x the time (noise on a shared machine included), where a quadratic path costs
16x. bench/bench_secrets.py --hostile runs the same shapes at 1 and 4 MB."""

from __future__ import annotations

import gc
import random
import string
import time
from collections.abc import Callable

import pytest

from egress_watch.classify.secrets import SecretScanner

SMALL = 32 * 1024
CHEAP = {"hex-tokens": 8, "random-base64": 8, "key-prefixes": 2}  # x SMALL: enough time to time
MAX_RATIO = 6.5
FLOOR = 0.005  # seconds: below this a timer's and the scheduler's noise dominate


def _fill(unit: Callable[[random.Random], str], size: int) -> str:
    rng = random.Random(5)  # noqa: S311 - fake filler, not secrets
    parts, total = [], 0
    while total < size:
        piece = unit(rng)
        parts.append(piece)
        total += len(piece)
    return "".join(parts)[:size]


def _rand(rng: random.Random, n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


SHAPES: dict[str, Callable[[random.Random], str]] = {
    "key-prefixes": lambda r: r.choice(["AK" + "IA", "gh" + "p_", "sk" + "-", "xo" + "xb-"]) + " ",
    "pem-headers": lambda r: "-----BEGIN RSA PRIVATE " + "KEY-----\n",
    "hex-tokens": lambda r: _rand(r, 40, "0123456789abcdef") + " ",
    "random-base64": lambda r: _rand(r, 76, string.ascii_letters + string.digits + "+/") + "\n",
    "no-newline": lambda r: "password" + "=" + _rand(r, 12) + " token: " + _rand(r, 20) + " ",
    "user-pass-at-host": lambda r: "postgres://u:" + _rand(r, 10) + "@db.internal/x ",
    "assignments": lambda r: f"MY_{_rand(r, 4).upper()}_TOKEN={_rand(r, 24)}\n",
}


def _seconds(scanner: SecretScanner, text: str) -> float:
    best = float("inf")
    gc.collect()
    gc.disable()
    try:
        for _ in range(2):
            start = time.perf_counter()
            scanner.scan(text)
            best = min(best, time.perf_counter() - start)
    finally:
        gc.enable()
    return max(best, FLOOR)


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_four_times_the_text_costs_about_four_times_the_time(shape: str) -> None:
    scanner = SecretScanner()
    size = SMALL * CHEAP.get(shape, 1)
    small, large = _fill(SHAPES[shape], size), _fill(SHAPES[shape], 4 * size)
    scanner.scan(small[:4096])  # warm up
    ratios = []
    for _ in range(2):  # a second try absorbs a burst of load from other processes
        ratios.append(_seconds(scanner, large) / max(_seconds(scanner, small), 1e-4))
        if ratios[-1] <= MAX_RATIO:
            break
    assert min(ratios) <= MAX_RATIO, f"{shape}: 4x text took {min(ratios):.1f}x time"

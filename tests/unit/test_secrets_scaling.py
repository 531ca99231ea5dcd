"""The secret scan stays linear on hostile text: repeated key prefixes, PEM headers, hex and
base64 runs, a megabyte without a newline, repeated ``user:pass@host``. Each shape is timed at
two sizes in one run; four times the text may cost at most ~6x the time (noise on a shared
machine included), where a quadratic path costs 16x."""

from __future__ import annotations

import random
import string
import time
from collections.abc import Callable

import pytest

from egress_watch.classify.secrets import SecretScanner

SMALL = 64 * 1024
MAX_RATIO = 6.5


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
    for _ in range(2):
        start = time.perf_counter()
        scanner.scan(text)
        best = min(best, time.perf_counter() - start)
    return best


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_four_times_the_text_costs_about_four_times_the_time(shape: str) -> None:
    scanner = SecretScanner()
    small, large = _fill(SHAPES[shape], SMALL), _fill(SHAPES[shape], 4 * SMALL)
    scanner.scan(small[:4096])  # warm up
    ratios = []
    for _ in range(2):  # a second try absorbs a burst of load from other processes
        ratios.append(_seconds(scanner, large) / max(_seconds(scanner, small), 1e-4))
        if ratios[-1] <= MAX_RATIO:
            break
    assert min(ratios) <= MAX_RATIO, f"{shape}: 4x text took {min(ratios):.1f}x time"

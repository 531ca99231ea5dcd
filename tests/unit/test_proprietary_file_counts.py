"""Counting how many files hold each k-gram with numpy gives exactly what the per-file
``Counter`` gave, including where the memory limit drops rare k-grams (issue 17, item 5)."""

from __future__ import annotations

import random
from array import array
from collections import Counter

import pytest

from egress_watch.classify.proprietary.file_counts import FileCounts


class CounterReference:
    """The ``Counter`` implementation ``FileCounts`` replaced, kept as the reference."""

    def __init__(self, limit: int) -> None:
        self.counts: Counter[int] = Counter()
        self.limit = limit

    def add(self, kgrams: array[int]) -> None:
        self.counts.update(kgrams)
        if len(self.counts) > self.limit:
            floor = 1
            while len(self.counts) > self.limit // 2:
                self.counts = Counter({h: n for h, n in self.counts.items() if n > floor})
                floor += 1

    def frequent(self, more_than: int) -> list[tuple[int, int]]:
        return sorted((h, n) for h, n in self.counts.items() if n > more_than)


def _files(rng: random.Random, count: int, pool: int) -> list[array[int]]:
    """Files of distinct k-grams drawn from a pool (shared ones are common), some empty,
    with the extreme 32-bit values."""
    common = [-(2**31), 2**31 - 1, 0, -1, *rng.sample(range(-(2**31), 2**31), pool)]
    files = []
    for _ in range(count):
        size = rng.choice((0, 1, 5, 40, 300))
        drawn = {rng.choice(common) for _ in range(size // 2)}
        drawn |= {rng.randrange(-(2**31), 2**31) for _ in range(size - size // 2)}
        files.append(array("i", sorted(drawn)))
    return files


@pytest.mark.parametrize(("limit", "seed"), [(10**9, 1), (2_000, 2), (300, 3), (40, 4), (3, 5)])
def test_counts_are_those_of_the_counter_incl_the_limit(limit: int, seed: int) -> None:
    rng = random.Random(seed)  # noqa: S311 - test data
    files = _files(rng, 400, 200)
    counts, reference = FileCounts(limit), CounterReference(limit)
    for kgrams in files:
        counts.add(kgrams)
        reference.add(kgrams)
        assert len(counts) <= limit
    for more_than in (0, 1, 2, 5):
        assert counts.frequent(more_than) == reference.frequent(more_than)
    if limit >= 300:
        assert counts.frequent(1), "the data has k-grams in several files"


def test_the_limit_drops_rare_kgrams_at_the_same_files_as_before() -> None:
    """Adds interleaved with reads: buffered batches are cut at the file that passed the limit."""
    rng = random.Random(9)  # noqa: S311 - test data
    counts, reference = FileCounts(500), CounterReference(500)
    for i, kgrams in enumerate(_files(rng, 300, 50)):
        counts.add(kgrams)
        reference.add(kgrams)
        if i % 37 == 0:
            assert counts.frequent(0) == reference.frequent(0)
    assert counts.frequent(0) == reference.frequent(0)


def test_nothing_counted_is_nothing_frequent() -> None:
    counts = FileCounts()
    counts.add(array("i"))
    assert counts.frequent(0) == []

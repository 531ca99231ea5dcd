"""How many files of one add hold each k-gram (``idioms.py``), counted with numpy.

A ``Counter`` updated with every file's k-grams cost a dict operation per k-gram, the largest
cost of the indexing process besides the workers. Here each file's k-grams are only buffered;
a batch is counted at once by sorting it (C), and merged into sorted (hash, files) arrays.

The memory bound is that of the per-file ``Counter`` it replaces, with the same results:
once more than ``limit`` distinct k-grams are counted, those held by one file so far are
dropped (then two, ...) until at most half the limit remain. A batch is cut at the very file
after which the per-file count would have passed the limit, so drops happen at the same
files, and ``frequent`` gives exactly the pairs the ``Counter`` gave. Imported by the indexing
path only: queries never load numpy.
"""

from __future__ import annotations

from array import array

import numpy as np
import numpy.typing as npt

from egress_watch.classify.proprietary.idioms import COUNT_LIMIT, FLOOR

BATCH_VALUES = 1 << 21
"""K-grams buffered before they are counted (8 MB), at most half the limit."""

Ints = npt.NDArray[np.int64]
Hashes = npt.NDArray[np.int32]


class FileCounts:
    """How many files of one add hold each k-gram, in bounded memory."""

    def __init__(self, limit: int = COUNT_LIMIT) -> None:
        self.limit = limit
        self.hashes: Hashes = np.empty(0, np.int32)
        """Distinct k-grams counted so far, sorted."""
        self.files: Ints = np.empty(0, np.int64)
        """How many files hold each of ``hashes``."""
        self._batch = max(1, min(BATCH_VALUES, limit // 2))
        self._buffers: list[Hashes] = []
        self._buffered = 0

    def add(self, kgrams: array[int]) -> None:
        """Buffer one file's distinct k-grams (counted with the next batch)."""
        if not kgrams:
            return
        self._buffers.append(np.asarray(kgrams, np.int32))  # no copy: the array's buffer
        self._buffered += len(kgrams)
        if self._buffered >= self._batch:
            self._count()

    def __len__(self) -> int:
        """Distinct k-grams counted (buffered ones not included)."""
        return len(self.hashes)

    def frequent(self, more_than: int = FLOOR) -> list[tuple[int, int]]:
        """(k-gram, files) of the k-grams held by more than ``more_than`` files, by k-gram."""
        self._count()
        kept = self.files > more_than
        return list(zip(self.hashes[kept].tolist(), self.files[kept].tolist(), strict=True))

    def _count(self) -> None:
        """Count the buffered files, dropping rare k-grams where the limit says so."""
        files, self._buffers, self._buffered = self._buffers, [], 0
        while files:
            values = np.concatenate(files)
            hashes, counts = _tally(values)
            merged = _merge(self.hashes, self.files, hashes, counts)
            if len(merged[0]) <= self.limit:  # never passed the limit inside this batch
                self.hashes, self.files = merged
                return
            cut = _first_over(self.hashes, files, self.limit)
            self.hashes, self.files = _merge(
                self.hashes, self.files, *_tally(np.concatenate(files[: cut + 1]))
            )
            self._drop_rare()
            files = files[cut + 1 :]

    def _drop_rare(self) -> None:
        """Drop the k-grams of the fewest files until at most half the limit remain."""
        floor = 1
        while np.count_nonzero(self.files > floor) > self.limit // 2:
            floor += 1
        kept = self.files > floor
        self.hashes, self.files = self.hashes[kept], self.files[kept]


def _tally(values: Hashes) -> tuple[Hashes, Ints]:
    """The distinct ``values``, sorted, and how often each occurs."""
    if not len(values):
        return values, np.empty(0, np.int64)
    ordered = np.sort(values)
    starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    counts = np.diff(np.append(starts, len(ordered))).astype(np.int64)
    return ordered[starts], counts


def _merge(hashes: Hashes, counts: Ints, more: Hashes, more_counts: Ints) -> tuple[Hashes, Ints]:
    """Two sorted (hash, count) tallies as one (counts of a hash in both added)."""
    if not len(hashes) or not len(more):
        return (more, more_counts) if len(more) else (hashes, counts)
    joined = np.concatenate((hashes, more))
    order = np.argsort(joined, kind="stable")  # two sorted runs: a linear merge
    joined = joined[order]
    summed = np.concatenate((counts, more_counts))[order]
    starts = np.flatnonzero(np.concatenate(([True], joined[1:] != joined[:-1])))
    return joined[starts], np.add.reduceat(summed, starts)


def _first_over(counted: Hashes, files: list[Hashes], limit: int) -> int:
    """The first of ``files`` after which more than ``limit`` distinct k-grams are counted."""
    values = np.concatenate(files)
    owner = np.repeat(np.arange(len(files)), [len(f) for f in files])
    order = np.argsort(values, kind="stable")  # a value's first occurrence: its first file
    ordered = values[order]
    starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    distinct, first_file = ordered[starts], owner[order[starts]]
    where = np.searchsorted(counted, distinct)
    known = np.zeros(len(distinct), bool)
    inside = where < len(counted)
    known[inside] = counted[where[inside]] == distinct[inside]
    new_per_file = np.bincount(first_file[~known], minlength=len(files))
    total = len(counted) + np.cumsum(new_per_file)
    return int(np.argmax(total > limit))

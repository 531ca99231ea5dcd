"""k-gram hashing and winnowing over whole numpy arrays: the indexing path's ``winnow.py``.

Indexing hashes every k-gram of megabytes of source; ``winnow.py`` does it one tuple at a
time. Here the same values come out of a few array operations per token of the k-gram. The
hash is CPython's tuple hash (xxHash-style, 3.8 and later) of ``(salt, id_0, .., id_{k-1})``,
written out in 64-bit unsigned arithmetic (ids are CRC32s, below 2**61, so each hashes to
itself); the index format depends on these values, so ``winnow.py`` stays the reference and
the tests compare the two. Only indexing imports this module: the proxy's matcher keeps the
pure-Python versions and never loads numpy.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from egress_watch.classify.proprietary.tokenize import renamed_channel
from egress_watch.classify.proprietary.winnow import Channel, token_ids

U64 = NDArray[np.uint64]
I32 = NDArray[np.int32]
U32 = NDArray[np.uint32]
POSITIONS = NDArray[np.intp]

_MASK = (1 << 64) - 1
_P1 = 11400714785074694791
_P2 = 14029467366897019727
_P5 = 2870177450012600261
_P1_U64, _P2_U64 = np.uint64(_P1), np.uint64(_P2)
_31, _33 = np.uint64(31), np.uint64(33)
"""numpy scalars made once: making them costs as much as a pass over a small file."""
_ALL_ONES = np.uint64(_MASK)
"""The one 64-bit value CPython never returns as a hash (-1): it returns 1546275796."""
_LOWEST = -(2**31)
"""The smallest int32 (no window minimum is below it): pads the ends for the sliding maximum."""
_HIGH_WORD = 1 if sys.byteorder == "little" else 0
"""Which 32-bit half of a 64-bit value holds its high bits (``signed >> 32`` as int32)."""


def _rotate_multiply(acc: int) -> int:
    """One round of the tuple hash on a Python int: rotate left 31, times P1 (64 bits)."""
    acc = ((acc << 31) | (acc >> 33)) & _MASK
    return (acc * _P1) & _MASK


def kgram_hashes(ids: U32, channel: Channel) -> I32:
    """The 32-bit hash of every k-gram of ``ids``; index i covers ids i .. i+k-1.

    Equal to ``winnow.kgram_hashes(ids.tolist(), channel)``: the tuple hash is run for all
    k-grams at once, one array pass per step of the hash."""
    k = channel.k
    count = len(ids) - k + 1
    if count <= 0:
        return np.empty(0, np.int32)
    lanes = np.multiply(ids, _P2_U64, dtype=np.uint64)  # each id's lane, once
    start = _rotate_multiply((_P5 + channel.salt * _P2) & _MASK)  # the salt, same for all
    acc = np.add(lanes[:count], np.uint64(start))
    rotated = np.empty_like(acc)
    for j in range(k):
        if j:
            acc += lanes[j : j + count]
        np.left_shift(acc, _31, out=rotated)
        np.right_shift(acc, _33, out=acc)
        acc |= rotated
        acc *= _P1_U64
    acc += np.uint64((k + 1) ^ (_P5 ^ 3527539))  # the tuple's length
    return folded(acc)


def folded(acc: U64) -> I32:
    """64-bit tuple hashes as the index keeps them: ``hash >> 32`` of the signed value, where
    CPython's hash is 1546275796 instead of -1 (all bits set)."""
    high = acc.view(np.int32)[_HIGH_WORD::2].copy()  # the signed high word
    high[np.flatnonzero(acc == _ALL_ONES)] = 1546275796 >> 32
    return high


def _sliding(values: I32, w: int, pick: np.ufunc) -> I32:
    """``pick`` (minimum or maximum) of every window of ``w`` values, ``len - w + 1`` of
    them: windows of 1, 2, 4, .. values, then two overlapping ones for the rest."""
    span = 1
    while 2 * span <= w:
        values = pick(values[:-span], values[span:])
        span *= 2
    if span < w:
        values = pick(values[: len(values) - (w - span)], values[w - span :])
    return values


def winnow(hashes: I32, w: int) -> POSITIONS:
    """Positions kept by winnowing (``winnow.winnow``): every position holding the minimum
    of some window of ``w`` hashes, ties included; the first minimum of a text shorter than
    one window."""
    n = len(hashes)
    if n <= w:
        return np.array([np.argmin(hashes)] if n else [], np.intp)
    smallest = _sliding(hashes, w, np.minimum)  # of the window starting at each position
    padded = np.full(n + w - 1, _LOWEST, np.int32)
    padded[w - 1 : n] = smallest
    largest = _sliding(padded, w, np.maximum)  # the largest minimum of a window holding i
    return np.flatnonzero(hashes <= largest)


class TokenIds:
    """Both channels' ids of every distinct token this process has seen, in two arrays
    indexed by the token's slot in ``slots``: a file's ids are one dict lookup per token and
    two array reads, and a token's rename-proof class is worked out once per process."""

    def __init__(self, slots: dict[str, int]) -> None:
        slots.clear()
        self.slots = slots
        self.ids = {False: np.empty(0, np.uint32), True: np.empty(0, np.uint32)}
        """Token id of each slot: raw (False) and rename-proof (True)."""

    def of(self, values: list[str], channels: Sequence[Channel]) -> list[U32]:
        """Token ids of ``values`` in each channel (``winnow.channel_ids``)."""
        try:
            where = np.fromiter(map(self.slots.__getitem__, values), np.intp, len(values))
        except KeyError:  # tokens never seen: give them slots, then read again
            self._add([value for value in dict.fromkeys(values) if value not in self.slots])
            where = np.fromiter(map(self.slots.__getitem__, values), np.intp, len(values))
        return [self.ids[channel.renamed][where] for channel in channels]

    def _add(self, fresh: list[str]) -> None:
        """Slots and ids for tokens not seen before."""
        first = len(self.slots)
        self.slots.update(zip(fresh, range(first, first + len(fresh)), strict=True))
        end = first + len(fresh)
        if end > len(self.ids[False]):  # room for twice as many: copied rarely
            for renamed, ids in self.ids.items():
                self.ids[renamed] = np.empty(max(end, 2 * len(ids)), np.uint32)
                self.ids[renamed][:first] = ids[:first]
        names: dict[str, int] = {}
        self.ids[False][first:end] = token_ids(fresh, names)
        self.ids[True][first:end] = token_ids(renamed_channel(fresh), names)


def sorted_background(public: frozenset[int]) -> I32:
    """The background's hashes as a sorted array, for ``is_public``."""
    hashes = np.fromiter(public, np.int32, len(public))
    hashes.sort()
    return hashes


def is_public(values: I32, background: I32) -> NDArray[np.bool_]:
    """Which ``values`` the background holds (``background`` from ``sorted_background``)."""
    if not len(background):
        return np.zeros(len(values), np.bool_)
    at = np.searchsorted(background, values)
    at[at == len(background)] = 0
    found: NDArray[np.bool_] = background[at] == values
    return found


def distinct(values: I32) -> I32:
    """The distinct ``values``, sorted (``np.unique`` hashes them first: ten times slower)."""
    ordered = np.sort(values)
    if not len(ordered):
        return ordered
    first = np.empty(len(ordered), np.bool_)
    first[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    return ordered[first]


class SeenTwice:
    """The values found in two or more of the arrays added (each array's values distinct):
    how the background is counted. Sorted arrays, merged whenever the pending ones outgrow
    the values seen so far, hold it in 4 bytes a value; a set of every value seen held
    the default background's in 1.2 GB."""

    def __init__(self, batch: int = 8_000_000) -> None:
        self.batch = batch
        self.seen = np.empty(0, np.int32)
        """Every value merged so far, once, sorted."""
        self.pending: list[I32] = []
        self.pending_values = 0
        self.twice: list[I32] = []
        """Values found twice, in the merges so far."""

    def add(self, values: I32) -> None:
        """Count one array of distinct values."""
        self.pending.append(values)
        self.pending_values += len(values)
        if self.pending_values > max(self.batch, len(self.seen)):
            self._merge()

    def common(self) -> I32:
        """The values found in two or more arrays, sorted."""
        self._merge()
        return distinct(np.concatenate([np.empty(0, np.int32), *self.twice]))

    def _merge(self) -> None:
        """Fold the pending arrays into ``seen``; a value met again (already seen, or in
        another pending array) is found twice."""
        every = np.concatenate([self.seen, *self.pending])
        every.sort()
        again = np.zeros(len(every), np.bool_)  # equal to the value before it: a second array
        np.equal(every[1:], every[:-1], out=again[1:])
        self.twice.append(every[again])
        self.seen = every[~again]
        self.pending, self.pending_values = [], 0


def as_array(values: NDArray[np.integer], typecode: str) -> array[int]:
    """A numpy result as the ``array`` the main process reads (4-byte items, copied)."""
    item = np.int32 if typecode == "i" else np.uint32
    return array(typecode, values.astype(item, copy=False).tobytes())

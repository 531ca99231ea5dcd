"""Packing postings into a segment's blocks with numpy (the writing side of ``blocks.py``;
imported by the indexing path only: queries never load numpy).

Postings are grouped by bucket with a stable sort of the 16-bit buckets (a radix sort in C) and
packed column by column, so each block holds its postings in the order they came: an add's in
the order they were added, a merge's oldest segment first. Blocks already written are decoded
the same way, so a merge that changes widths or drops postings is array work, not a loop per
posting or per bucket.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from egress_watch.classify.proprietary.blocks import BUCKET_BITS, BUCKETS, LOW, Widths, record_bytes

Column = npt.NDArray[np.uint32]
Keep = Callable[[list[int], array[int]], list[bool]]
"""Which postings to keep, given their (signed) hashes and file ids (``postings.Keep``)."""


@dataclass(frozen=True, slots=True)
class Postings:
    """Postings in numpy columns, grouped by bucket (ascending; arrival order inside one)."""

    buckets: npt.NDArray[np.uint16]
    hashes: Column
    """The full unsigned 32-bit hashes."""
    columns: list[Column]
    """File ids, token positions, lines."""

    @classmethod
    def of(cls, hashes: array[int], columns: list[array[int]]) -> Postings:
        """An add's postings (unsigned ``hashes`` and their columns), grouped by bucket."""
        full = np.asarray(hashes, np.uint32)
        buckets = (full >> BUCKET_BITS).astype(np.uint16)
        order = np.argsort(buckets, kind="stable")
        return cls(buckets[order], full[order], [np.asarray(c, np.uint32)[order] for c in columns])

    def __len__(self) -> int:
        return len(self.hashes)

    def widths(self) -> Widths:
        """Bytes each column needs for its largest value (at least 2)."""
        file_w, pos_w, line_w = (_width(column) for column in self.columns)
        return file_w, pos_w, line_w

    def part(self, first: int, last: int) -> Postings:
        """The postings of buckets ``first`` to ``last``."""
        start, end = np.searchsorted(self.buckets, [first, last + 1])
        return Postings(
            self.buckets[start:end],
            self.hashes[start:end],
            [column[start:end] for column in self.columns],
        )


def _width(column: Column) -> int:
    top = int(column.max()) if len(column) else 0
    return max(2, (top.bit_length() + 7) // 8)


def decoded(rows: list[tuple[int, bytes]], widths: Widths) -> Postings:
    """The postings of blocks (rowid, data) of one segment, in ascending rowid order."""
    stride = record_bytes(widths)
    data = np.frombuffer(b"".join(block for _, block in rows), np.uint8).reshape(-1, stride)
    counts = [len(block) // stride for _, block in rows]
    buckets = np.repeat(np.asarray([rowid & LOW for rowid, _ in rows], np.uint16), counts)
    low = _value(data, 0, 2)
    columns = []
    offset = 2
    for width in widths:
        columns.append(_value(data, offset, width))
        offset += width
    hashes = buckets.astype(np.uint32) << np.uint32(BUCKET_BITS) | low
    return Postings(buckets, hashes, columns)


def _value(records: npt.NDArray[np.uint8], offset: int, width: int) -> Column:
    """The little-endian unsigned values of ``width`` bytes at ``offset`` of every record."""
    value = np.zeros(len(records), np.uint32)
    for k in range(width):
        value |= records[:, offset + k].astype(np.uint32) << np.uint32(8 * k)
    return value


def packed(
    parts: list[Postings], widths: Widths, keep: Keep | None = None
) -> tuple[list[int], list[int], bytes, int]:
    """The blocks of ``parts`` (each grouped by bucket; earlier parts first inside a bucket),
    keeping what ``keep`` accepts: the buckets used, where each one's records end (bytes),
    the records, and how many postings they hold."""
    parts = [part for part in parts if len(part)]
    if not parts:
        return [], [], b"", 0
    if len(parts) == 1:
        whole = parts[0]
    else:
        buckets = np.concatenate([part.buckets for part in parts])
        order = np.argsort(buckets, kind="stable")  # sorted runs: a merge
        whole = Postings(
            buckets[order],
            np.concatenate([part.hashes for part in parts])[order],
            [np.concatenate([part.columns[k] for part in parts])[order] for k in range(3)],
        )
    if keep is not None:
        files = array("I", whole.columns[0].tobytes())
        mask = np.asarray(keep(whole.hashes.view(np.int32).tolist(), files), bool)
        whole = Postings(whole.buckets[mask], whole.hashes[mask], [c[mask] for c in whole.columns])
    n, stride = len(whole), record_bytes(widths)
    records = np.empty((n, stride), np.uint8)
    records[:, 0:2] = _little_bytes(whole.hashes & np.uint32(LOW), 2)
    offset = 2
    for column, width in zip(whole.columns, widths, strict=True):
        records[:, offset : offset + width] = _little_bytes(column, width)
        offset += width
    counts = np.bincount(whole.buckets, minlength=BUCKETS)
    used = np.flatnonzero(counts)
    ends = np.cumsum(counts[used]) * stride
    return used.tolist(), ends.tolist(), records.tobytes(), n


def _little_bytes(values: Column, width: int) -> npt.NDArray[np.uint8]:
    """The low ``width`` bytes of each value, little-endian, one row per value."""
    little = values.astype("<u4", copy=False)
    return little.view(np.uint8).reshape(len(values), 4)[:, :width]


def line_rows(hashes: list[array[int]], file_ids: list[int]) -> list[tuple[int, int]]:
    """(line hash, file id) rows of files' line hashes, in the order of the ``lines`` table's
    key (hash, file id): inserted in that order they are appended to B-tree pages rather
    than scattered over them. ``file_ids`` ascend and each file's hashes are distinct."""
    if not hashes:
        return []
    values = np.concatenate([np.asarray(h, np.int32) for h in hashes])
    owners = np.repeat(np.asarray(file_ids, np.int64), [len(h) for h in hashes])
    order = np.argsort(values, kind="stable")  # equal hashes keep their ascending files
    return list(zip(values[order].tolist(), owners[order].tolist(), strict=True))

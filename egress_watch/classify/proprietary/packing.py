"""Packing an add's postings into a segment's blocks with numpy (the writing side of
``blocks.py``; imported by the indexing path only: queries never load numpy).

Records are grouped by bucket with a stable sort of the 16-bit buckets (a radix sort in C) and
gathered column by column, so each block holds its postings in the order they were added:
the same bytes as the strided-slice encoder followed by a sort of the whole records.
"""

from __future__ import annotations

from array import array

import numpy as np
import numpy.typing as npt

from egress_watch.classify.proprietary.blocks import BUCKET_BITS, BUCKETS, LOW, Widths, record_bytes

Column = npt.NDArray[np.uint32]


def widths_of(columns: list[array[int]]) -> Widths:
    """Bytes each column needs for its largest value (at least 2): ``blocks.column_width``."""
    file_w, pos_w, line_w = (_width(np.asarray(column, np.uint32)) for column in columns)
    return file_w, pos_w, line_w


def _width(column: Column) -> int:
    top = int(column.max()) if len(column) else 0
    return max(2, (top.bit_length() + 7) // 8)


def bucketed_records(
    hashes: array[int], columns: list[array[int]], widths: Widths
) -> tuple[list[int], list[int], bytes]:
    """The records of unsigned 32-bit ``hashes`` and their (file, position, line) ``columns``,
    grouped by bucket in ascending order (added order inside one): the buckets used, where
    each one's records end (bytes), and the records."""
    full = np.asarray(hashes, np.uint32)
    buckets = (full >> BUCKET_BITS).astype(np.uint16)
    order = np.argsort(buckets, kind="stable")
    n, stride = len(full), record_bytes(widths)
    records = np.empty((n, stride), np.uint8)
    records[:, 0:2] = _little_bytes((full & np.uint32(LOW))[order], 2)
    offset = 2
    for column, width in zip(columns, widths, strict=True):
        values = np.asarray(column, np.uint32)[order]
        records[:, offset : offset + width] = _little_bytes(values, width)
        offset += width
    counts = np.bincount(buckets, minlength=BUCKETS)
    used = np.flatnonzero(counts)
    ends = np.cumsum(counts[used]) * stride
    return used.tolist(), ends.tolist(), records.tobytes()


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

"""The record format of a block of postings, shared by the segment writer and the reader.

A row per posting cost about 19 bytes in SQLite (record header, cell pointer, half-filled
b-tree pages), more than the posting itself. So postings are packed in blocks, one SQLite row
per (segment, hash bucket), and a posting takes 8 to 11 bytes: the low 16 bits of its hash (the
high 16 bits are the block's bucket), and its file id, token position and line as 2 to 4
little-endian bytes each, one fixed-width record after another. Blocks are built and decoded
with strided byte slices (C, not Python work per posting), and blocks of the same widths merge
by concatenation inside SQLite (``postings.py``). Order inside a block does not matter: the
matcher sorts its hits.
"""

from __future__ import annotations

import sys
from array import array

BUCKET_BITS = 16
BUCKETS = 1 << BUCKET_BITS
LOW = BUCKETS - 1
CHUNK = 500
"""Blocks read per ``SELECT ... WHERE id IN (...)`` (bounds the SQL variables)."""

Posting = tuple[int, int, int, int]
"""(hash, file id, token position, line)."""
Widths = tuple[int, int, int]
"""Bytes of the file id, position and line columns of a segment."""
Segment = tuple[int, int, Widths]
"""A segment's id, how many postings it holds, and its widths."""


def record_bytes(widths: Widths) -> int:
    """Bytes per posting: the hash's low 16 bits, then the file id, position and line."""
    return 2 + sum(widths)


def _little(column: array[int]) -> bytes:
    """The 32-bit values as little-endian bytes."""
    if sys.byteorder == "big":
        column = array("I", column)
        column.byteswap()
    return column.tobytes()


def encode_block(lows: array[int], columns: list[array[int]], widths: Widths) -> bytearray:
    """Fixed-width little-endian records of (low hash bits, file, position, line)."""
    stride = record_bytes(widths)
    out = bytearray(len(lows) * stride)
    raw = _little(lows)
    out[0::stride] = raw[0::4]
    out[1::stride] = raw[1::4]
    offset = 2
    for column, width in zip(columns, widths, strict=True):
        raw = _little(column)
        for k in range(width):
            out[offset + k :: stride] = raw[k::4]
        offset += width
    return out


def decode_block(data: bytes, widths: Widths) -> list[array[int]]:
    """The columns of a block: low hash bits, file ids, positions, lines."""
    stride = record_bytes(widths)
    n = len(data) // stride
    columns = []
    offset = 0
    for width in (2, *widths):
        raw = bytearray(4 * n)
        for k in range(width):
            raw[k::4] = data[offset + k :: stride]
        column = array("I")
        column.frombytes(bytes(raw))
        if sys.byteorder == "big":
            column.byteswap()
        columns.append(column)
        offset += width
    return columns


def signed(unsigned: int) -> int:
    """The signed 32-bit hash of an unsigned one."""
    return unsigned - (1 << 32) if unsigned >= 1 << 31 else unsigned

"""Segments packed with numpy are byte for byte those of the strided-slice packer they
replaced (kept here as the reference), so the index format is unchanged (issue 17, item 5)."""

from __future__ import annotations

import random
import sqlite3
import sys
from array import array
from collections import Counter
from itertools import accumulate
from operator import itemgetter
from pathlib import Path

import pytest

from egress_watch.classify.proprietary.blocks import BUCKET_BITS, encode_block, record_bytes
from egress_watch.classify.proprietary.index import open_index
from egress_watch.classify.proprietary.postings import Pending, write_segment

Rows = list[tuple[int, bytes]]


def _column_width(column: array[int]) -> int:
    top = max(column, default=0)
    return max(2, (top.bit_length() + 7) // 8)


def _buckets_of(hashes: array[int]) -> list[int]:
    raw = hashes.tobytes()
    top = bytearray(2 * len(hashes))
    high, low = (0, 1) if sys.byteorder == "big" else (2, 3)
    top[0::2] = raw[high::4]
    top[1::2] = raw[low::4]
    buckets = array("H")
    buckets.frombytes(bytes(top))
    return buckets.tolist()


def _permuted(records: bytearray, stride: int, order: list[int]) -> bytes:
    n = len(order)
    wide = 8 if stride <= 8 else 16
    padded = bytearray(n * wide)
    for k in range(stride):
        padded[k::wide] = records[k::stride]
    words = array("Q")
    words.frombytes(bytes(padded))
    lanes = [words] if wide == 8 else [words[0::2], words[1::2]]
    moved = [array("Q", itemgetter(*order)(lane.tolist())) for lane in lanes] if n > 1 else lanes
    if wide == 16:
        words = array("Q", bytes(16 * n))
        words[0::2], words[1::2] = moved
    else:
        words = moved[0]
    padded = bytearray(words.tobytes())
    out = bytearray(n * stride)
    for k in range(stride):
        out[k::stride] = padded[k::wide]
    return bytes(out)


def _reference_rows(pending: Pending, segment: int) -> tuple[Rows, tuple[int, int, int]]:
    """The blocks the previous ``write_segment`` wrote for ``pending`` (and its widths)."""
    columns = [pending.files, pending.positions, pending.lines]
    widths = (_column_width(columns[0]), _column_width(columns[1]), _column_width(columns[2]))
    stride = record_bytes(widths)
    buckets = _buckets_of(pending.hashes)
    order = sorted(range(len(pending)), key=buckets.__getitem__)
    records = _permuted(encode_block(pending.hashes, columns, widths), stride, order)
    counted = Counter(buckets)
    used = sorted(counted)
    ends = list(accumulate(stride * counted[b] for b in used))
    blocks = [records[a:b] for a, b in zip([0, *ends], ends, strict=False)]
    return [(segment << BUCKET_BITS | b, x) for b, x in zip(used, blocks, strict=True)], widths


def _pending(rng: random.Random, files: int, size: int, top: int, few_buckets: bool) -> Pending:
    pending = Pending()
    for file_id in rng.sample(range(top), files):
        n = rng.randrange(0, size + 1)
        if few_buckets:  # many postings per block: their order inside it shows
            high = [rng.choice((0, 1, 0x7FFF, 0x8000, 0xFFFF)) for _ in range(n)]
            unsigned = [h << 16 | rng.randrange(1 << 16) for h in high]
        else:
            unsigned = [rng.randrange(1 << 32) for _ in range(n)]
        hashes = array("i", array("I", unsigned).tobytes())
        positions = array("I", [rng.randrange(top) for _ in range(n)])
        lines = array("I", [rng.randrange(top) for _ in range(n)])
        pending.add(hashes, file_id, positions, lines)
    return pending


def _copy(pending: Pending) -> Pending:
    return Pending(
        *(array("I", c) for c in (pending.hashes, pending.files, pending.positions, pending.lines))
    )


@pytest.mark.parametrize(
    ("files", "size", "top", "few_buckets"),
    [
        (1, 1, 10, False),  # one posting
        (5, 300, 1 << 16, True),  # 8-byte records
        (5, 300, 1 << 24, False),  # 11-byte records
        (8, 400, 1 << 32, True),  # 14-byte records: wider than 8, padded to 16 before
        (8, 400, 1 << 32, False),
        (40, 2_000, 1 << 20, False),  # many buckets, some with several postings
    ],
)
def test_blocks_are_byte_identical_to_the_previous_packer(
    tmp_path: Path, files: int, size: int, top: int, few_buckets: bool
) -> None:
    rng = random.Random(files * 7919 + size)  # noqa: S311 - test data
    pending = _pending(rng, files, size, top, few_buckets)
    if not len(pending):
        pending.add(array("i", [-5]), 3, array("I", [1]), array("I", [2]))
    conn = open_index(tmp_path / "i.db")
    expected, widths = _reference_rows(_copy(pending), 1)
    write_segment(conn, pending)
    assert len(pending) == 0
    assert conn.execute("SELECT id, data FROM blocks ORDER BY id").fetchall() == expected
    segment = conn.execute("SELECT id, file_bytes, pos_bytes, line_bytes FROM segments")
    assert segment.fetchall() == [(1, *widths)]
    conn.close()


def test_nothing_pending_writes_nothing(tmp_path: Path) -> None:
    conn: sqlite3.Connection = open_index(tmp_path / "i.db")
    write_segment(conn, Pending())
    assert conn.execute("SELECT COUNT(*) FROM blocks").fetchone()[0] == 0
    assert conn.execute("SELECT COUNT(*) FROM segments").fetchone()[0] == 0
    conn.close()

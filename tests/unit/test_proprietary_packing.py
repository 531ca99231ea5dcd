"""Segments packed with numpy are byte for byte those of the strided-slice packer they
replaced (kept here as the reference), so the index format is unchanged (issue 17, item 5)."""

from __future__ import annotations

import random
import sqlite3
import subprocess
import sys
from array import array
from collections import Counter
from itertools import accumulate
from operator import itemgetter
from pathlib import Path

import pytest

from egress_watch.classify.proprietary.blocks import (
    BUCKET_BITS,
    LOW,
    Widths,
    decode_block,
    encode_block,
    record_bytes,
    signed,
)
from egress_watch.classify.proprietary.index import open_index
from egress_watch.classify.proprietary.postings import (
    MAX_SEGMENTS,
    MERGE_RATIO,
    Keep,
    Pending,
    _concatenate,
    every_posting,
    keep_files,
    list_segments,
    rewrite,
    write_segment,
)

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


def _blocks(conn: sqlite3.Connection) -> list[tuple[int, bytes]]:
    """(bucket, block) of every block, whatever its segment."""
    rows = conn.execute("SELECT id, data FROM blocks ORDER BY id")
    return [(rowid & LOW, data) for rowid, data in rows]


@pytest.mark.parametrize("few_buckets", [True, False])
def test_a_segment_merged_as_it_is_written_is_the_sql_merge(
    tmp_path: Path, few_buckets: bool
) -> None:
    """A new segment the size of the last one is merged into it as it is written: the
    blocks are those of writing it, then concatenating both in SQLite."""
    rng = random.Random(11)  # noqa: S311 - test data
    older = _pending(rng, 20, 800, 1 << 16, few_buckets)
    newer = _pending(rng, 20, 800, 1 << 16, few_buckets)
    reference = open_index(tmp_path / "reference.db")
    older_rows, _ = _reference_rows(_copy(older), 1)
    newer_rows, _ = _reference_rows(_copy(newer), 2)
    reference.executemany("INSERT INTO blocks VALUES (?, ?)", older_rows + newer_rows)
    _concatenate(reference, [1, 2], 3, 1 << 20)
    reference.execute("DELETE FROM blocks WHERE id < ?", (3 << BUCKET_BITS,))
    total = len(older) + len(newer)
    assert len(newer) * MERGE_RATIO >= len(older)
    conn = open_index(tmp_path / "i.db")
    write_segment(conn, older)
    write_segment(conn, newer)
    assert [s[1] for s in list_segments(conn)] == [total]
    assert _blocks(conn) == _blocks(reference)


def _previous_reencode(
    conn: sqlite3.Connection, segments: list[tuple[int, Widths]], widths: Widths, keep: Keep | None
) -> list[tuple[int, bytes]]:
    """The blocks the previous bucket-by-bucket merge wrote (widths change, or a filter)."""
    parts: dict[int, list[array[int]]] = {}
    for segment, have in segments:
        for rowid, data in conn.execute(
            "SELECT id, data FROM blocks WHERE id BETWEEN ? AND ? ORDER BY id",
            (segment << BUCKET_BITS, segment << BUCKET_BITS | LOW),
        ):
            columns = parts.setdefault(rowid & LOW, [array("I") for _ in range(4)])
            for column, part in zip(columns, decode_block(data, have), strict=True):
                column += part
    out = []
    for bucket, columns in sorted(parts.items()):
        if keep is not None:
            mask = keep([signed(bucket << BUCKET_BITS | low) for low in columns[0]], columns[1])
            columns = [array("I", [v for v, m in zip(c, mask, strict=True) if m]) for c in columns]
        if columns[0]:
            out.append((bucket, bytes(encode_block(columns[0], columns[1:], widths))))
    return out


@pytest.mark.parametrize("filtered", [False, True])
def test_segments_of_other_widths_merge_into_the_blocks_of_before(
    tmp_path: Path, filtered: bool
) -> None:
    """Merging segments of different widths, or dropping postings (purges, a larger
    background), decodes and packs them with numpy: the same blocks as the per-bucket merge."""
    rng = random.Random(12)  # noqa: S311 - test data
    narrow = _pending(rng, 30, 300, 1 << 16, True)
    wide = _pending(rng, 30, 300, 1 << 24, True)
    conn = open_index(tmp_path / "i.db")
    rows_1, widths_1 = _reference_rows(_copy(narrow), 1)
    rows_2, widths_2 = _reference_rows(_copy(wide), 2)
    assert widths_1 != widths_2
    conn.executemany("INSERT INTO blocks VALUES (?, ?)", rows_1 + rows_2)
    for segment, rows, widths in ((1, rows_1, widths_1), (2, rows_2, widths_2)):
        size = sum(len(d) for _, d in rows) // record_bytes(widths)
        conn.execute("INSERT INTO segments VALUES (?, ?, ?, ?, ?)", (segment, size, *widths))
    live = set(rng.sample(sorted({*narrow.files, *wide.files}), 25))
    keep = keep_files(live) if filtered else None
    file_w, pos_w, line_w = (max(a, b) for a, b in zip(widths_1, widths_2, strict=True))
    widths = (file_w, pos_w, line_w)
    expected = _previous_reencode(conn, [(1, widths_1), (2, widths_2)], widths, keep)
    rewrite(conn, keep=keep)
    assert _blocks(conn) == expected
    kept = sum(len(d) for _, d in expected) // record_bytes(widths)
    assert [s[1:] for s in list_segments(conn)] == [(kept, widths)]
    if filtered:
        assert {f for _, f, _, _ in every_posting(conn)} <= live


def test_segments_follow_the_merge_policy_and_keep_every_posting(tmp_path: Path) -> None:
    """Adds of all sizes: the segments left are those the merge policy says, holding every
    posting written."""
    rng = random.Random(13)  # noqa: S311 - test data
    conn = open_index(tmp_path / "i.db")
    expected: list[int] = []
    written: list[tuple[int, int, int, int]] = []
    shrinking = [Pending() for _ in range(7)]
    for pending, size in zip(shrinking, (4000, 1500, 600, 250, 100, 40, 15), strict=True):
        hashes = array("i", [rng.randrange(-(2**31), 2**31) for _ in range(size)])
        spots = array("I", [rng.randrange(1 << 17) for _ in range(size)])
        pending.add(hashes, rng.randrange(1 << 17), spots, spots)
    # Each a third of the one before: no cascade, then too many segments, the smallest pair
    # holding the newest; then adds of random sizes.
    randoms = (
        _pending(rng, rng.randrange(1, 12), rng.choice((3, 30, 300)), 1 << 17, False)
        for _ in range(25)
    )
    for pending in (*shrinking, *randoms):
        if not len(pending):
            continue
        signed_hashes = array("i", pending.hashes.tobytes())
        written += zip(signed_hashes, pending.files, pending.positions, pending.lines, strict=True)
        expected.append(len(pending))
        while len(expected) > 1:
            merged, size = 1, expected[-1]
            while merged < len(expected) and size * MERGE_RATIO >= expected[-merged - 1]:
                merged += 1
                size += expected[-merged]
            if merged > 1:
                expected[-merged:] = [size]
            elif len(expected) > MAX_SEGMENTS:
                i = min(range(len(expected) - 1), key=lambda k: expected[k] + expected[k + 1])
                expected[i : i + 2] = [expected[i] + expected[i + 1]]
            else:
                break
        write_segment(conn, pending)
        assert [s[1] for s in list_segments(conn)] == expected
    assert sorted(every_posting(conn)) == sorted(written)


def test_the_query_path_does_not_load_numpy() -> None:
    """numpy is for indexing: a proxy that matches code does not pay for importing it."""
    script = (
        "import sys\n"
        "import egress_watch.classify.engine, egress_watch.classify.proprietary.matcher\n"
        "import egress_watch.classify.proprietary.index\n"
        "print('numpy' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "False"

"""Postings packed in blocks: one SQLite row per (segment, hash bucket), not one per posting.

A row per posting cost about 19 bytes in SQLite (record header, cell pointer, half-filled
b-tree pages), more than the posting itself. Here a posting takes 8 to 11 bytes: the low 16
bits of its hash (the high 16 bits are the block's bucket), and its file id, token position and
line as 2 to 4 little-endian bytes each. A block keeps each byte of every column as its own
plane (column-major), so building, merging and filtering blocks are byte-string slices and
joins done in C, not Python work per posting.

Each ``index add`` writes a new segment; a segment is merged with the previous one once it is
half its size or more, so there are few segments (logarithmically many, at most
``MAX_SEGMENTS``) and a lookup reads few rows per hash.
Order inside a block does not matter: the matcher sorts its hits.
"""

from __future__ import annotations

import sqlite3
import sys
from array import array
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import compress, pairwise

SCHEMA = """
CREATE TABLE IF NOT EXISTS segments (
    id INTEGER PRIMARY KEY, postings INTEGER NOT NULL,
    file_bytes INTEGER NOT NULL, pos_bytes INTEGER NOT NULL, line_bytes INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS blocks (id INTEGER PRIMARY KEY, data BLOB NOT NULL);
"""
BUCKET_BITS = 16
BUCKETS = 1 << BUCKET_BITS
LOW = BUCKETS - 1
MERGE_RATIO = 2
"""A segment is merged into the one before it once it holds half as many postings."""
MERGE_FROM = BUCKETS
"""Smaller segments have a few postings per bucket: merging them costs more per posting than
it saves, so they are merged only when there are too many segments."""
MAX_SEGMENTS = 8
CHUNK = 500
REWRITE_BUCKETS = 4096
"""Buckets rewritten at a time when merging (bounds the memory a merge holds)."""
SEGMENT_POSTINGS = 4_000_000
"""An add writes a segment each time it has gathered this many postings (bounds memory)."""

Posting = tuple[int, int, int, int]
"""(hash, file id, token position, line)."""
Widths = tuple[int, int, int]
"""Bytes of the file id, position and line columns of a segment."""
Keep = Callable[[list[int], array[int]], list[bool]]
"""Which postings of a bucket to keep, given their hashes and file ids."""


@dataclass(slots=True)
class Pending:
    """Postings gathered by an add, not yet written as a segment (compact arrays)."""

    hashes: array[int] = field(default_factory=lambda: array("I"))
    files: array[int] = field(default_factory=lambda: array("I"))
    positions: array[int] = field(default_factory=lambda: array("I"))
    lines: array[int] = field(default_factory=lambda: array("I"))

    def add(
        self, hashes: array[int], file_id: int, positions: array[int], lines: array[int]
    ) -> None:
        """Append one file's postings (``hashes`` signed 32-bit, as fingerprinted)."""
        unsigned = array("I")
        unsigned.frombytes(hashes.tobytes())
        self.hashes += unsigned
        self.files += array("I", [file_id]) * len(hashes)
        self.positions += positions
        self.lines += lines

    def __len__(self) -> int:
        return len(self.hashes)


def _planes(column: array[int], width: int) -> list[bytes]:
    """The ``width`` low bytes of each 32-bit value, one byte string per byte (low first)."""
    if sys.byteorder == "big":
        column = array("I", column)
        column.byteswap()
    raw = column.tobytes()
    return [raw[k::4] for k in range(width)]


def _width(column: array[int]) -> int:
    """Bytes needed for the largest value (at least 2)."""
    top = max(column, default=0)
    return max(2, (top.bit_length() + 7) // 8)


def write_segment(conn: sqlite3.Connection, pending: Pending) -> None:
    """Store ``pending`` as a new segment (then merge segments as needed) and empty it."""
    n = len(pending)
    if n == 0:
        return
    order = sorted(range(n), key=pending.hashes.__getitem__)
    hashes = array("I", map(pending.hashes.__getitem__, order))
    columns = [
        array("I", map(column.__getitem__, order))
        for column in (pending.files, pending.positions, pending.lines)
    ]
    widths = (_width(columns[0]), _width(columns[1]), _width(columns[2]))
    planes = _planes(hashes, 2)
    for column, width in zip(columns, widths, strict=True):
        planes += _planes(column, width)
    segment = _next_segment(conn)
    rows = []
    i = 0
    while i < n:
        bucket = hashes[i] >> BUCKET_BITS
        j = bisect_left(hashes, (bucket + 1) << BUCKET_BITS, i)
        rows.append((segment << BUCKET_BITS | bucket, b"".join([p[i:j] for p in planes])))
        i = j
    conn.executemany("INSERT INTO blocks VALUES (?, ?)", rows)
    conn.execute("INSERT INTO segments VALUES (?, ?, ?, ?, ?)", (segment, n, *widths))
    for column in (pending.hashes, pending.files, pending.positions, pending.lines):
        del column[:]
    _merge_as_needed(conn)


def _next_segment(conn: sqlite3.Connection) -> int:
    """A segment id above every other (its blocks are appended at the end of the table)."""
    row = conn.execute("SELECT MAX(id) FROM segments").fetchone()
    return (row[0] or 0) + 1


def _segments(conn: sqlite3.Connection) -> list[tuple[int, int, Widths]]:
    """(id, postings, widths) of every segment, oldest first."""
    rows = conn.execute(
        "SELECT id, postings, file_bytes, pos_bytes, line_bytes FROM segments ORDER BY id"
    )
    return [(seg, count, (fw, pw, lw)) for seg, count, fw, pw, lw in rows]


def _merge_as_needed(conn: sqlite3.Connection) -> None:
    """Merge the newest segment into the one before while it is not much smaller (and big
    enough for a merge to be cheap per posting); merge the smallest neighbours while there
    are too many segments."""
    while True:
        segments = _segments(conn)
        if len(segments) < 2:
            return
        older, newer = segments[-2], segments[-1]
        if newer[1] >= MERGE_FROM and newer[1] * MERGE_RATIO >= older[1]:
            rewrite(conn, [older, newer])
        elif len(segments) > MAX_SEGMENTS:
            pairs = pairwise(segments)
            smallest = min(pairs, key=lambda pair: pair[0][1] + pair[1][1])
            rewrite(conn, list(smallest))
        else:
            return


def rewrite(
    conn: sqlite3.Connection,
    segments: list[tuple[int, int, Widths]] | None = None,
    keep: Keep | None = None,
) -> None:
    """Replace ``segments`` (all by default) with one, keeping the postings ``keep`` accepts
    (called with a bucket, its postings' hashes and file ids, it says which to keep)."""
    if segments is None:
        segments = _segments(conn)
    if not segments:
        return
    widths = (
        max(s[2][0] for s in segments),
        max(s[2][1] for s in segments),
        max(s[2][2] for s in segments),
    )
    target = _next_segment(conn)
    total = 0
    for first in range(0, BUCKETS, REWRITE_BUCKETS):
        rows = []
        for bucket, parts in _buckets(conn, segments, first, first + REWRITE_BUCKETS - 1):
            if keep is None and all(w == widths for _, w in parts):
                block = _concatenated([data for data, _ in parts], 2 + sum(widths))
                total += len(block) // (2 + sum(widths))
                rows.append((target << BUCKET_BITS | bucket, block))
                continue
            planes = _joined([_split(data, w, widths) for data, w in parts])
            if keep is not None:
                hashes = [_signed(bucket << BUCKET_BITS | low) for low in _column(planes[:2])]
                mask = keep(hashes, _column(planes[2 : 2 + widths[0]]))
                planes = [bytes(compress(plane, mask)) for plane in planes]
            if planes[0]:
                total += len(planes[0])
                rows.append((target << BUCKET_BITS | bucket, b"".join(planes)))
        conn.executemany("INSERT INTO blocks VALUES (?, ?)", rows)
    for segment, _, _ in segments:
        conn.execute(
            "DELETE FROM blocks WHERE id BETWEEN ? AND ?",
            (segment << BUCKET_BITS, segment << BUCKET_BITS | LOW),
        )
        conn.execute("DELETE FROM segments WHERE id = ?", (segment,))
    if total:
        conn.execute("INSERT INTO segments VALUES (?, ?, ?, ?, ?)", (target, total, *widths))


def _buckets(
    conn: sqlite3.Connection, segments: list[tuple[int, int, Widths]], first: int, last: int
) -> Iterator[tuple[int, list[tuple[bytes, Widths]]]]:
    """Each bucket from ``first`` to ``last`` with its blocks in every segment (and widths)."""
    found: dict[int, list[tuple[bytes, Widths]]] = defaultdict(list)
    for segment, _, widths in segments:
        base = segment << BUCKET_BITS
        for rowid, data in conn.execute(
            "SELECT id, data FROM blocks WHERE id BETWEEN ? AND ?", (base | first, base | last)
        ):
            found[rowid & LOW].append((data, widths))
    for bucket in sorted(found):
        yield bucket, found[bucket]


def _concatenated(blocks: list[bytes], planes: int) -> bytes:
    """Blocks of one bucket with the same widths as one block (plane by plane)."""
    if len(blocks) == 1:
        return blocks[0]
    sizes = [len(block) // planes for block in blocks]
    return b"".join(
        [
            block[k * n : (k + 1) * n]
            for k in range(planes)
            for block, n in zip(blocks, sizes, strict=True)
        ]
    )


def _split(data: bytes, widths: Widths, wanted: Widths) -> list[bytes]:
    """A block's planes, each column padded with zero planes up to ``wanted`` bytes."""
    n = len(data) // (2 + sum(widths))
    planes = [data[k * n : (k + 1) * n] for k in range(2 + sum(widths))]
    out = planes[:2]
    start = 2
    zero = bytes(n)
    for have, want in zip(widths, wanted, strict=True):
        out += planes[start : start + have] + [zero] * (want - have)
        start += have
    return out


def _joined(blocks: list[list[bytes]]) -> list[bytes]:
    """Blocks of one bucket (same widths) as one: plane by plane concatenation."""
    if len(blocks) == 1:
        return blocks[0]
    return [b"".join(planes) for planes in zip(*blocks, strict=True)]


def _column(planes: list[bytes]) -> array[int]:
    """Values from their byte planes (low byte first)."""
    n = len(planes[0]) if planes else 0
    raw = bytearray(4 * n)
    for k, plane in enumerate(planes):
        raw[k::4] = plane
    values = array("I")
    values.frombytes(bytes(raw))
    if sys.byteorder == "big":
        values.byteswap()
    return values


def lookup(conn: sqlite3.Connection, hashes: Iterable[int]) -> Iterator[Posting]:
    """Every posting of ``hashes`` (signed 32-bit, as fingerprinted)."""
    wanted: dict[int, list[int]] = defaultdict(list)
    for h in hashes:
        wanted[(h & 0xFFFFFFFF) >> BUCKET_BITS].append(h)
    if not wanted:
        return
    buckets = sorted(wanted)
    for segment, _, (fw, pw, lw) in _segments(conn):
        base = segment << BUCKET_BITS
        stride = 2 + fw + pw + lw
        for i in range(0, len(buckets), CHUNK):
            ids = [base | b for b in buckets[i : i + CHUNK]]
            marks = ",".join("?" * len(ids))
            for rowid, data in conn.execute(
                f"SELECT id, data FROM blocks WHERE id IN ({marks})",  # noqa: S608 - placeholders
                ids,
            ):
                n = len(data) // stride
                for h in wanted[rowid & LOW]:
                    yield from _find(data, n, h, fw, pw, lw)


def _find(data: bytes, n: int, h: int, fw: int, pw: int, lw: int) -> Iterator[Posting]:
    """The postings of hash ``h`` in one block of ``n`` postings."""
    low = h & 0xFFFF
    first, second = low & 0xFF, low >> 8
    i = data.find(first, 0, n)
    while i >= 0:
        if data[n + i] == second:
            f = _value(data, n, 2, fw, i)
            p = _value(data, n, 2 + fw, pw, i)
            line = _value(data, n, 2 + fw + pw, lw, i)
            yield h, f, p, line
        i = data.find(first, i + 1, n)


def _value(data: bytes, n: int, plane: int, width: int, i: int) -> int:
    """The value at index ``i`` of the column starting at ``plane``."""
    start = plane * n + i
    value = 0
    for k in range(width):
        value |= data[start + k * n] << (8 * k)
    return value


def count(conn: sqlite3.Connection) -> int:
    """How many postings are stored (dead files' included until purged)."""
    row = conn.execute("SELECT COALESCE(SUM(postings), 0) FROM segments").fetchone()
    return int(row[0])


def every_posting(conn: sqlite3.Connection) -> Iterator[Posting]:
    """All stored postings, bucket by bucket (for tests and tools, not queries)."""
    segments = _segments(conn)
    for first in range(0, BUCKETS, REWRITE_BUCKETS):
        for bucket, parts in _buckets(conn, segments, first, first + REWRITE_BUCKETS - 1):
            for data, widths in parts:
                planes = _split(data, widths, widths)
                fw, pw, _ = widths
                columns = [
                    _column(planes[0:2]),
                    _column(planes[2 : 2 + fw]),
                    _column(planes[2 + fw : 2 + fw + pw]),
                    _column(planes[2 + fw + pw :]),
                ]
                for low, f, p, line in zip(*columns, strict=True):
                    yield _signed(bucket << BUCKET_BITS | low), f, p, line


def _signed(unsigned: int) -> int:
    """The signed 32-bit hash of an unsigned one."""
    return unsigned - (1 << 32) if unsigned >= 1 << 31 else unsigned


def frequent(conn: sqlite3.Connection, more_than: int) -> list[int]:
    """Hashes stored more than ``more_than`` times, counted in C a few thousand buckets at a
    time (memory stays a fraction of the index); buckets too small to hold that many
    postings of one hash are not read."""
    segments = _segments(conn)
    if not segments:
        return []
    least = more_than * (2 + min(min(s[2]) for s in segments))  # bytes of that many postings
    candidates = [
        bucket
        for (bucket,) in conn.execute(
            "SELECT id & ? AS bucket FROM blocks GROUP BY bucket HAVING SUM(length(data)) > ?",
            (LOW, least),
        )
    ]
    out = []
    for i in range(0, len(candidates), CHUNK):
        counts = Counter(_full_hashes(conn, segments, candidates[i : i + CHUNK]))
        out += [_signed(u) for u, n in counts.items() if n > more_than]
    return out


def _full_hashes(
    conn: sqlite3.Connection, segments: list[tuple[int, int, Widths]], buckets: list[int]
) -> array[int]:
    """The unsigned hash of every posting in ``buckets`` (any order)."""
    planes: list[list[bytes]] = [[], [], [], []]
    marks = ",".join("?" * len(buckets))
    for segment, _, widths in segments:
        stride = 2 + sum(widths)
        for rowid, data in conn.execute(
            f"SELECT id, data FROM blocks WHERE id IN ({marks})",  # noqa: S608 - placeholders
            [segment << BUCKET_BITS | bucket for bucket in buckets],
        ):
            n = len(data) // stride
            planes[0].append(data[:n])
            planes[1].append(data[n : 2 * n])
            planes[2].append(bytes((rowid & 0xFF,)) * n)
            planes[3].append(bytes(((rowid & LOW) >> 8,)) * n)
    return _column([b"".join(plane) for plane in planes])


def keep_files(live: Collection[int]) -> Keep:
    """A ``rewrite`` filter keeping the postings of ``live`` files."""
    return lambda _hashes, files: [f in live for f in files]


def drop_hashes(public: Collection[int]) -> Keep:
    """A ``rewrite`` filter dropping the postings of ``public`` hashes."""
    return lambda hashes, _files: [h not in public for h in hashes]

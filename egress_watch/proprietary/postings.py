"""Postings packed in blocks: one SQLite row per (segment, hash bucket), not one per posting.

A row per posting cost about 19 bytes in SQLite (record header, cell pointer, half-filled
b-tree pages), more than the posting itself. Here a posting takes 8 to 11 bytes: the low 16
bits of its hash (the high 16 bits are the block's bucket), and its file id, token position and
line as 2 to 4 little-endian bytes each, one fixed-width record after another. Blocks are built
and decoded with strided byte slices (C, not Python work per posting), and blocks of the same
widths merge by concatenation inside SQLite.

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
MAX_SEGMENTS = 4
CHUNK = 500
IN_MEMORY_BYTES = 128 * 1024 * 1024
"""A matcher keeps the blocks in memory up to this size (about 120-200 MB of indexed source):
a lookup is then a slice search, not a SQLite read per hash bucket (at 100 MB of source,
query p95 6.9 ms instead of 15 ms)."""
REWRITE_BUCKETS = 4096
"""Buckets rewritten at a time when merging (bounds the memory a merge holds)."""
SEGMENT_POSTINGS = 4_000_000
"""An add writes a segment each time it has gathered this many postings (bounds memory)."""

Posting = tuple[int, int, int, int]
"""(hash, file id, token position, line)."""
Widths = tuple[int, int, int]
"""Bytes of the file id, position and line columns of a segment."""
Loaded = list[tuple[array[int], bytes, Widths]]
"""Per segment: where each bucket's records start in ``data`` (65,537 offsets), the records."""
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


def _stride(widths: Widths) -> int:
    """Bytes per posting: the hash's low 16 bits, then the file id, position and line."""
    return 2 + sum(widths)


def _width(column: array[int]) -> int:
    """Bytes needed for the largest value (at least 2)."""
    top = max(column, default=0)
    return max(2, (top.bit_length() + 7) // 8)


def _little(column: array[int]) -> bytes:
    """The 32-bit values as little-endian bytes."""
    if sys.byteorder == "big":
        column = array("I", column)
        column.byteswap()
    return column.tobytes()


def _encode(lows: array[int], columns: list[array[int]], widths: Widths) -> bytearray:
    """Fixed-width little-endian records of (low hash bits, file, position, line)."""
    stride = _stride(widths)
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


def _decode(data: bytes, widths: Widths) -> list[array[int]]:
    """The columns of a block: low hash bits, file ids, positions, lines."""
    stride = _stride(widths)
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
    records = _encode(hashes, columns, widths)
    stride = _stride(widths)
    segment = _next_segment(conn)
    rows = []
    i = 0
    while i < n:
        bucket = hashes[i] >> BUCKET_BITS
        j = bisect_left(hashes, (bucket + 1) << BUCKET_BITS, i)
        rows.append((segment << BUCKET_BITS | bucket, bytes(records[i * stride : j * stride])))
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
    """Merge the newest segment into the one before while it is not much smaller; merge the
    smallest neighbours while there are too many segments."""
    while True:
        segments = _segments(conn)
        if len(segments) < 2:
            return
        older, newer = segments[-2], segments[-1]
        if newer[1] * MERGE_RATIO >= older[1]:
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
    (called with a bucket's hashes and file ids, it says which postings to keep)."""
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
    if keep is None and all(s[2] == widths for s in segments):
        _concatenate(conn, [s[0] for s in segments], target)
        total = sum(s[1] for s in segments)
    else:
        total = _reencode(conn, segments, target, widths, keep)
    for segment, _, _ in segments:
        conn.execute(
            "DELETE FROM blocks WHERE id BETWEEN ? AND ?",
            (segment << BUCKET_BITS, segment << BUCKET_BITS | LOW),
        )
        conn.execute("DELETE FROM segments WHERE id = ?", (segment,))
    if total:
        conn.execute("INSERT INTO segments VALUES (?, ?, ?, ?, ?)", (target, total, *widths))


def _concatenate(conn: sqlite3.Connection, segments: list[int], target: int) -> None:
    """Merge segments of the same widths inside SQLite: each bucket's blocks, concatenated
    (records are fixed-width and their order does not matter), a range of buckets at a time."""
    ranges = " OR ".join("id BETWEEN ? AND ?" for _ in segments)
    for first in range(0, BUCKETS, REWRITE_BUCKETS):
        last = first + REWRITE_BUCKETS - 1
        bounds = [v for s in segments for v in (s << BUCKET_BITS | first, s << BUCKET_BITS | last)]
        merge = (
            "INSERT INTO blocks SELECT ? | (id & ?), CAST(group_concat(data, x'') AS BLOB) "  # noqa: S608
            f"FROM blocks WHERE {ranges} GROUP BY id & ?"  # only placeholders are formatted in
        )
        conn.execute(merge, (target << BUCKET_BITS, LOW, *bounds, LOW))


def _reencode(
    conn: sqlite3.Connection,
    segments: list[tuple[int, int, Widths]],
    target: int,
    widths: Widths,
    keep: Keep | None,
) -> int:
    """Merge segments bucket by bucket in Python (widths change, or postings are filtered);
    how many postings the new segment holds."""
    total = 0
    for first in range(0, BUCKETS, REWRITE_BUCKETS):
        rows = []
        for bucket, parts in _buckets(conn, segments, first, first + REWRITE_BUCKETS - 1):
            columns = [array("I") for _ in range(4)]
            for data, have in parts:
                for column, part in zip(columns, _decode(data, have), strict=True):
                    column += part
            if keep is not None:
                hashes = [_signed(bucket << BUCKET_BITS | low) for low in columns[0]]
                mask = keep(hashes, columns[1])
                columns = [array("I", compress(c, mask)) for c in columns]
            if columns[0]:
                total += len(columns[0])
                block = bytes(_encode(columns[0], columns[1:], widths))
                rows.append((target << BUCKET_BITS | bucket, block))
        conn.executemany("INSERT INTO blocks VALUES (?, ?)", rows)
    return total


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


def _wanted(hashes: Iterable[int]) -> dict[int, list[tuple[int, bytes]]]:
    """The hashes by bucket, each with its low 16 bits as stored."""
    wanted: dict[int, list[tuple[int, bytes]]] = defaultdict(list)
    for h in hashes:
        wanted[(h & 0xFFFFFFFF) >> BUCKET_BITS].append((h, (h & LOW).to_bytes(2, "little")))
    return wanted


def lookup(conn: sqlite3.Connection, hashes: Iterable[int]) -> list[Posting]:
    """Every posting of ``hashes`` (signed 32-bit, as fingerprinted), read from SQLite."""
    wanted = _wanted(hashes)
    found: list[Posting] = []
    if wanted:
        for segment in _segments(conn):
            _read_segment(conn, segment, wanted, found)
    return found


class Reader:
    """Lookups for a matcher: from a copy of the blocks in memory when the index is small
    enough (a slice search per hash instead of a SQLite read per bucket), reloaded when the
    index's generation changes; from SQLite otherwise."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._generation: str | None = None
        self._loaded: Loaded | None = None

    def lookup(self, hashes: Iterable[int]) -> list[Posting]:
        """Every posting of ``hashes``."""
        loaded = self._refresh()
        if loaded is None:
            return lookup(self._conn, hashes)
        found: list[Posting] = []
        wanted = _wanted(hashes)
        for offsets, data, widths in loaded:
            fw, pw, _ = widths
            stride = _stride(widths)
            p0, l0 = 2 + fw, 2 + fw + pw
            for bucket, targets in wanted.items():
                start, end = offsets[bucket], offsets[bucket + 1]
                if start == end:
                    continue
                for h, low in targets:
                    at = data.find(low, start, end)
                    while at >= 0:
                        if (at - start) % stride == 0:
                            found.append(
                                (
                                    h,
                                    int.from_bytes(data[at + 2 : at + p0], "little"),
                                    int.from_bytes(data[at + p0 : at + l0], "little"),
                                    int.from_bytes(data[at + l0 : at + stride], "little"),
                                )
                            )
                        at = data.find(low, at + 1, end)
        return found

    def _refresh(self) -> Loaded | None:
        """The blocks in memory, reloaded when the index changed; None when they are larger
        than ``IN_MEMORY_BYTES``."""
        conn = self._conn
        row = conn.execute("SELECT value FROM meta WHERE key='generation'").fetchone()
        if self._generation is not None and self._generation == (str(row[0]) if row else ""):
            return self._loaded
        own = not conn.in_transaction
        if own:
            conn.execute("BEGIN")  # one snapshot: no merge committed halfway through the copy
        try:
            row = conn.execute("SELECT value FROM meta WHERE key='generation'").fetchone()
            generation = str(row[0]) if row else ""
            size = conn.execute("SELECT COALESCE(SUM(length(data)), 0) FROM blocks").fetchone()
            loaded: Loaded | None = None
            if size[0] <= IN_MEMORY_BYTES:
                loaded = [_load_segment(conn, segment) for segment in _segments(conn)]
        finally:
            if own:
                conn.commit()
        self._generation, self._loaded = generation, loaded
        return loaded


def _read_segment(
    conn: sqlite3.Connection,
    segment: tuple[int, int, Widths],
    wanted: dict[int, list[tuple[int, bytes]]],
    found: list[Posting],
) -> None:
    """Add to ``found`` the postings of ``wanted`` in one segment, read from SQLite."""
    seg, _, (fw, pw, lw) = segment
    base = seg << BUCKET_BITS
    stride = 2 + fw + pw + lw
    p0, l0 = 2 + fw, 2 + fw + pw
    buckets = sorted(wanted)
    for i in range(0, len(buckets), CHUNK):
        ids = [base | b for b in buckets[i : i + CHUNK]]
        marks = ",".join("?" * len(ids))
        for rowid, data in conn.execute(
            f"SELECT id, data FROM blocks WHERE id IN ({marks})",  # noqa: S608 - placeholders
            ids,
        ):
            for h, low in wanted[rowid & LOW]:
                at = data.find(low)
                while at >= 0:
                    if at % stride == 0:
                        found.append(
                            (
                                h,
                                int.from_bytes(data[at + 2 : at + p0], "little"),
                                int.from_bytes(data[at + p0 : at + l0], "little"),
                                int.from_bytes(data[at + l0 : at + stride], "little"),
                            )
                        )
                    at = data.find(low, at + 1)


def _load_segment(
    conn: sqlite3.Connection, segment: tuple[int, int, Widths]
) -> tuple[array[int], bytes, Widths]:
    """One segment's blocks as one byte string, with each bucket's offset in it."""
    seg, _, widths = segment
    base = seg << BUCKET_BITS
    offsets = array("I", bytes(4 * (BUCKETS + 1)))
    parts = []
    at = 0
    for rowid, data in conn.execute(
        "SELECT id, data FROM blocks WHERE id BETWEEN ? AND ? ORDER BY id", (base, base | LOW)
    ):
        offsets[rowid & LOW] = at
        at += len(data)
        offsets[(rowid & LOW) + 1] = at
        parts.append(data)
    # Empty buckets start where the previous one ended (their range is empty).
    for bucket in range(1, BUCKETS + 1):
        if offsets[bucket] < offsets[bucket - 1]:
            offsets[bucket] = offsets[bucket - 1]
    return offsets, b"".join(parts), widths


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
                for low, f, p, line in zip(*_decode(data, widths), strict=True):
                    yield _signed(bucket << BUCKET_BITS | low), f, p, line


def _signed(unsigned: int) -> int:
    """The signed 32-bit hash of an unsigned one."""
    return unsigned - (1 << 32) if unsigned >= 1 << 31 else unsigned


def frequent(conn: sqlite3.Connection, more_than: int) -> list[int]:
    """Hashes stored more than ``more_than`` times, counted in C a few hundred buckets at a
    time (memory stays a fraction of the index); buckets too small to hold that many
    postings of one hash are not read."""
    segments = _segments(conn)
    if not segments:
        return []
    least = more_than * min(_stride(s[2]) for s in segments)  # bytes of that many postings
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
        stride = _stride(widths)
        for rowid, data in conn.execute(
            f"SELECT id, data FROM blocks WHERE id IN ({marks})",  # noqa: S608 - placeholders
            [segment << BUCKET_BITS | bucket for bucket in buckets],
        ):
            n = len(data) // stride
            planes[0].append(data[0::stride])
            planes[1].append(data[1::stride])
            planes[2].append(bytes((rowid & 0xFF,)) * n)
            planes[3].append(bytes(((rowid & LOW) >> 8,)) * n)
    joined = [b"".join(plane) for plane in planes]
    raw = bytearray(4 * len(joined[0]))
    for k, plane in enumerate(joined):
        raw[k::4] = plane
    values = array("I")
    values.frombytes(bytes(raw))
    if sys.byteorder == "big":
        values.byteswap()
    return values


def keep_files(live: Collection[int]) -> Keep:
    """A ``rewrite`` filter keeping the postings of ``live`` files."""
    return lambda _hashes, files: [f in live for f in files]


def drop_hashes(public: Collection[int]) -> Keep:
    """A ``rewrite`` filter dropping the postings of ``public`` hashes."""
    return lambda hashes, _files: [h not in public for h in hashes]

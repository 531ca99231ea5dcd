"""The segments of packed postings (index format 4): writing, merging, filtering, counting.

Postings are packed in blocks, one SQLite row per (segment, hash bucket), in the record format
of ``blocks.py``. Each ``index add`` writes a new segment; a segment is merged with the previous
one once it is half its size or more, so there are few segments (logarithmically many, at most
``MAX_SEGMENTS``) and a lookup (``postings_reader.py``) reads few rows per hash. Purging
removed files and dropping public idioms rewrite the segments through a ``Keep`` filter.
Segments are packed (and merges that change widths or filter postings re-packed) with numpy
in ``packing.py``, imported only when the index is written: queries never load numpy.
"""

from __future__ import annotations

import sqlite3
import sys
from array import array
from collections import defaultdict
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from itertools import pairwise, repeat
from operator import or_
from typing import TYPE_CHECKING

from egress_watch.classify.proprietary.blocks import (
    BUCKET_BITS,
    BUCKETS,
    CHUNK,
    LOW,
    Posting,
    Segment,
    Widths,
    decode_block,
    record_bytes,
    signed,
)

if TYPE_CHECKING:
    from egress_watch.classify.proprietary.packing import Postings

SCHEMA = """
CREATE TABLE IF NOT EXISTS segments (
    id INTEGER PRIMARY KEY, postings INTEGER NOT NULL,
    file_bytes INTEGER NOT NULL, pos_bytes INTEGER NOT NULL, line_bytes INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS blocks (id INTEGER PRIMARY KEY, data BLOB NOT NULL);
"""
MERGE_RATIO = 2
"""A segment is merged into the one before it once it holds half as many postings."""
MAX_SEGMENTS = 4
REWRITE_BUCKETS = 4096
"""Buckets rewritten at a time when merging (bounds the memory a merge holds)."""
CONCATENATE_BYTES = 16_000_000
"""Blocks concatenated by one statement at most (about): small segments merge at once."""
SEGMENT_POSTINGS = 4_000_000
"""An add writes a segment each time it has gathered this many postings (bounds memory)."""

Keep = Callable[[list[int], array[int]], list[bool]]
"""Which postings to keep, given their hashes and file ids (a range of buckets at a time)."""


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


def write_segment(conn: sqlite3.Connection, pending: Pending) -> None:
    """Store ``pending`` as a new segment (then merge segments as needed) and empty it.

    When the new segment would at once be merged with others (``_merge_as_needed`` would
    merge it first), it is merged as it is written: its blocks are not written, then read
    back and deleted."""
    from egress_watch.classify.proprietary.packing import Postings  # numpy: indexing only

    n = len(pending)
    if n == 0:
        return
    new = Postings.of(pending.hashes, [pending.files, pending.positions, pending.lines])
    _pack(conn, _merged_with(list_segments(conn), (0, n, new.widths())), new)
    for column in (pending.hashes, pending.files, pending.positions, pending.lines):
        del column[:]
    _merge_as_needed(conn)


def _next_segment(conn: sqlite3.Connection) -> int:
    """A segment id above every other (its blocks are appended at the end of the table)."""
    row = conn.execute("SELECT MAX(id) FROM segments").fetchone()
    return (row[0] or 0) + 1


def list_segments(conn: sqlite3.Connection) -> list[Segment]:
    """(id, postings, widths) of every segment, oldest first."""
    rows = conn.execute(
        "SELECT id, postings, file_bytes, pos_bytes, line_bytes FROM segments ORDER BY id"
    )
    return [(seg, count, (fw, pw, lw)) for seg, count, fw, pw, lw in rows]


def _merge_as_needed(conn: sqlite3.Connection) -> None:
    """Merge the newest segment into the one before while it is not much smaller; merge the
    smallest neighbours while there are too many segments."""
    while True:
        segments = list_segments(conn)
        if len(segments) < 2:
            return
        merged = _cascade(segments)
        if len(merged) > 1:
            rewrite(conn, merged)
        elif len(segments) > MAX_SEGMENTS:
            pairs = pairwise(segments)
            smallest = min(pairs, key=lambda pair: pair[0][1] + pair[1][1])
            rewrite(conn, list(smallest))
        else:
            return


def _merged_with(segments: list[Segment], new: Segment) -> list[Segment]:
    """The segments ``_merge_as_needed`` would merge ``new`` into first, were it written
    after ``segments``: a cascade, or when there are too many segments the smallest pair."""
    every = [*segments, new]
    cascade = _cascade(every)
    if len(cascade) > 1 or len(every) <= MAX_SEGMENTS:
        return cascade[:-1]
    smallest = min(pairwise(every), key=lambda pair: pair[0][1] + pair[1][1])
    return [smallest[0]] if smallest[1] is new else []


def _cascade(segments: list[Segment]) -> list[Segment]:
    """The newest segments to merge at once (the newest alone when none): the one before the
    newest when the newest is not much smaller, and so on up the whole cascade (each posting
    is rewritten once, not once per level)."""
    merged, size = 1, segments[-1][1]
    while merged < len(segments) and size * MERGE_RATIO >= segments[-merged - 1][1]:
        merged += 1
        size += segments[-merged][1]
    return segments[-merged:]


def rewrite(
    conn: sqlite3.Connection,
    segments: list[Segment] | None = None,
    keep: Keep | None = None,
) -> None:
    """Replace ``segments`` (all by default) with one, keeping the postings ``keep`` accepts
    (called with the hashes and file ids of a range of buckets, it says which to keep)."""
    if segments is None:
        segments = list_segments(conn)
    if not segments:
        return
    widths = _widest([s[2] for s in segments])
    if keep is not None or any(s[2] != widths for s in segments):
        _pack(conn, segments, keep=keep)  # decoded and packed again
        return
    target = _next_segment(conn)
    size = sum(s[1] for s in segments) * record_bytes(widths)
    _concatenate(conn, [s[0] for s in segments], target, size)
    _drop(conn, segments)
    conn.execute(
        "INSERT INTO segments VALUES (?, ?, ?, ?, ?)",
        (target, sum(s[1] for s in segments), *widths),
    )


def _widest(widths: list[Widths]) -> Widths:
    """Widths holding every value of segments of these widths."""
    return max(w[0] for w in widths), max(w[1] for w in widths), max(w[2] for w in widths)


def _drop(conn: sqlite3.Connection, segments: list[Segment]) -> None:
    """Delete segments and their blocks."""
    for segment, _, _ in segments:
        conn.execute(
            "DELETE FROM blocks WHERE id BETWEEN ? AND ?",
            (segment << BUCKET_BITS, segment << BUCKET_BITS | LOW),
        )
        conn.execute("DELETE FROM segments WHERE id = ?", (segment,))


def _step(size: int) -> int:
    """Buckets rewritten at a time so that a range holds about ``CONCATENATE_BYTES``."""
    step = BUCKETS
    while step > REWRITE_BUCKETS and size * step > CONCATENATE_BYTES * BUCKETS:
        step //= 2
    return step


def _concatenate(conn: sqlite3.Connection, segments: list[int], target: int, size: int) -> None:
    """Merge segments of the same widths inside SQLite: each bucket's blocks, concatenated
    (records are fixed-width and their order does not matter), a range of buckets at a time."""
    ranges = " OR ".join("id BETWEEN ? AND ?" for _ in segments)
    step = _step(size)
    for first in range(0, BUCKETS, step):
        last = first + step - 1
        bounds = [v for s in segments for v in (s << BUCKET_BITS | first, s << BUCKET_BITS | last)]
        merge = (
            "INSERT INTO blocks SELECT ? | (id & ?), CAST(group_concat(data, x'') AS BLOB) "  # noqa: S608
            f"FROM blocks WHERE {ranges} GROUP BY id & ?"  # only placeholders are formatted in
        )
        conn.execute(merge, (target << BUCKET_BITS, LOW, *bounds, LOW))


def _pack(
    conn: sqlite3.Connection,
    segments: list[Segment],
    new: Postings | None = None,
    keep: Keep | None = None,
) -> None:
    """Replace ``segments`` and ``new`` postings (newest) with one segment, keeping what
    ``keep`` accepts: decoded and packed with numpy, a range of buckets at a time."""
    from egress_watch.classify.proprietary import packing  # numpy: indexing only

    widths = _widest([s[2] for s in segments] + ([new.widths()] if new is not None else []))
    stride = record_bytes(widths)
    size = (sum(s[1] for s in segments) + (len(new) if new is not None else 0)) * stride
    target = _next_segment(conn)
    total = 0
    step = _step(size)
    for first in range(0, BUCKETS, step):
        last = first + step - 1
        parts = []
        for segment, _, have in segments:
            base = segment << BUCKET_BITS
            rows = conn.execute(
                "SELECT id, data FROM blocks WHERE id BETWEEN ? AND ? ORDER BY id",
                (base | first, base | last),
            ).fetchall()
            parts.append(packing.decoded(rows, have))
        if new is not None:
            parts.append(new.part(first, last))
        used, ends, records, count = packing.packed(parts, widths, keep)
        blocks = map(records.__getitem__, map(slice, [0, *ends], ends))  # no loop per row
        ids = map(or_, repeat(target << BUCKET_BITS), used)
        conn.executemany("INSERT INTO blocks VALUES (?, ?)", zip(ids, blocks, strict=True))
        total += count
    _drop(conn, segments)
    if total:
        conn.execute("INSERT INTO segments VALUES (?, ?, ?, ?, ?)", (target, total, *widths))


def _buckets(
    conn: sqlite3.Connection, segments: list[Segment], first: int, last: int
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


def count(conn: sqlite3.Connection) -> int:
    """How many postings are stored (dead files' included until purged)."""
    row = conn.execute("SELECT COALESCE(SUM(postings), 0) FROM segments").fetchone()
    return int(row[0])


def every_posting(conn: sqlite3.Connection) -> Iterator[Posting]:
    """All stored postings, bucket by bucket (for tests and tools, not queries)."""
    segments = list_segments(conn)
    for first in range(0, BUCKETS, REWRITE_BUCKETS):
        for bucket, parts in _buckets(conn, segments, first, first + REWRITE_BUCKETS - 1):
            for data, widths in parts:
                for low, f, p, line in zip(*decode_block(data, widths), strict=True):
                    yield signed(bucket << BUCKET_BITS | low), f, p, line


def frequent(conn: sqlite3.Connection, more_than: int) -> list[int]:
    """Hashes stored more than ``more_than`` times, counted in C a few hundred buckets at a
    time (memory stays a fraction of the index); buckets too small to hold that many
    postings of one hash are not read."""
    import numpy as np  # the indexing path only

    segments = list_segments(conn)
    if not segments:
        return []
    least = more_than * min(record_bytes(s[2]) for s in segments)  # bytes of that many postings
    candidates = [
        bucket
        for (bucket,) in conn.execute(
            "SELECT id & ? AS bucket FROM blocks GROUP BY bucket HAVING SUM(length(data)) > ?",
            (LOW, least),
        )
    ]
    out = []
    for i in range(0, len(candidates), CHUNK):
        hashes = np.asarray(_full_hashes(conn, segments, candidates[i : i + CHUNK]), np.uint32)
        distinct, counts = np.unique(hashes, return_counts=True)
        out += distinct[counts > more_than].view(np.int32).tolist()
    return out


def _full_hashes(
    conn: sqlite3.Connection, segments: list[Segment], buckets: list[int]
) -> array[int]:
    """The unsigned hash of every posting in ``buckets`` (any order)."""
    planes: list[list[bytes]] = [[], [], [], []]
    marks = ",".join("?" * len(buckets))
    for segment, _, widths in segments:
        stride = record_bytes(widths)
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

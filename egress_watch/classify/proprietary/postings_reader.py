"""Looking postings up for the matcher: every posting of a set of hashes, per segment.

A matcher keeps a copy of the blocks in memory when the index is small enough, so a lookup is
a slice search per hash rather than a SQLite read per hash bucket; the copy is reloaded when
the index's generation changes (an add, rebuild or remove). Larger indexes are read from
SQLite: only the blocks of the buckets the hashes fall in.
"""

from __future__ import annotations

import sqlite3
from array import array
from collections import defaultdict
from collections.abc import Iterable

from egress_watch.classify.proprietary.blocks import (
    BUCKET_BITS,
    BUCKETS,
    CHUNK,
    LOW,
    Posting,
    Segment,
    Widths,
    record_bytes,
)
from egress_watch.classify.proprietary.postings import list_segments

IN_MEMORY_BYTES = 128 * 1024 * 1024
"""A matcher keeps the blocks in memory up to this size (about 120-200 MB of indexed source):
a lookup is then a slice search, not a SQLite read per hash bucket (at 100 MB of source,
query p95 6.9 ms instead of 15 ms)."""

Loaded = list[tuple[array[int], bytes, Widths]]
"""Per segment: where each bucket's records start in ``data`` (65,537 offsets), the records."""


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
        for segment in list_segments(conn):
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
        return [(h, *row) for h, rows in self.grouped(hashes).items() for row in rows]

    def grouped(self, hashes: Iterable[int]) -> dict[int, list[tuple[int, int, int]]]:
        """(file, position, line) of every posting of ``hashes``, by hash (hashes with none
        left out): what the matcher wants, without a tuple per posting to regroup."""
        loaded = self._refresh()
        found: dict[int, list[tuple[int, int, int]]] = {}
        if loaded is None:
            for h, file_id, pos, line in lookup(self._conn, hashes):
                found.setdefault(h, []).append((file_id, pos, line))
            return found
        keys = [
            (h, (h & 0xFFFFFFFF) >> BUCKET_BITS, (h & LOW).to_bytes(2, "little")) for h in hashes
        ]
        for offsets, data, widths in loaded:
            _search(offsets, data, widths, keys, found)
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
                loaded = _load(conn, list_segments(conn))
        finally:
            if own:
                conn.commit()
        self._generation, self._loaded = generation, loaded
        return loaded


def _search(
    offsets: array[int],
    data: bytes,
    widths: Widths,
    keys: list[tuple[int, int, bytes]],
    found: dict[int, list[tuple[int, int, int]]],
) -> None:
    """Add to ``found`` the postings of ``keys`` (hash, bucket, low bytes) in one copy."""
    fw, pw, _ = widths
    stride = record_bytes(widths)
    p0, l0 = 2 + fw, 2 + fw + pw
    find = data.find
    for h, bucket, low in keys:
        start, end = offsets[bucket], offsets[bucket + 1]
        if start == end:
            continue
        at = find(low, start, end)
        while at >= 0:
            if (at - start) % stride == 0:
                row = (
                    int.from_bytes(data[at + 2 : at + p0], "little"),
                    int.from_bytes(data[at + p0 : at + l0], "little"),
                    int.from_bytes(data[at + l0 : at + stride], "little"),
                )
                rows = found.get(h)
                if rows is None:
                    found[h] = [row]
                else:
                    rows.append(row)
            at = find(low, at + 1, end)


def _read_segment(
    conn: sqlite3.Connection,
    segment: Segment,
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


def _load(conn: sqlite3.Connection, segments: list[Segment]) -> Loaded:
    """The blocks in memory: segments of one record width as one merged copy (a lookup then
    searches one bucket, not one per segment), others segment by segment."""
    loaded = [_load_segment(conn, segment) for segment in segments]
    if len(loaded) > 1 and len({widths for _, _, widths in loaded}) == 1:
        return [_merged(loaded)]
    return loaded


def _merged(loaded: Loaded) -> tuple[array[int], bytes, Widths]:
    """Copies of the same widths as one: each bucket's records of every segment in turn (the
    order of records inside a bucket does not matter to the matcher). About 0.2 s, once per
    change of the index, for lookups twice as fast with four segments."""
    merged = array("I", bytes(4 * (BUCKETS + 1)))
    pieces = []
    at = 0
    for bucket in range(BUCKETS):
        merged[bucket] = at
        for offsets, data, _ in loaded:
            start, end = offsets[bucket], offsets[bucket + 1]
            if start != end:
                pieces.append(data[start:end])
                at += end - start
    merged[BUCKETS] = at
    return merged, b"".join(pieces), loaded[0][2]


def _offsets(rows: Iterable[tuple[int, bytes]]) -> tuple[array[int], bytes]:
    """Blocks of ascending buckets as one byte string, with each bucket's offset in it."""
    offsets = array("I", bytes(4 * (BUCKETS + 1)))
    parts = []
    at = 0
    for bucket, data in rows:
        offsets[bucket] = at
        at += len(data)
        offsets[bucket + 1] = at
        parts.append(data)
    # Empty buckets start where the previous one ended (their range is empty).
    for bucket in range(1, BUCKETS + 1):
        if offsets[bucket] < offsets[bucket - 1]:
            offsets[bucket] = offsets[bucket - 1]
    return offsets, b"".join(parts)


def _load_segment(conn: sqlite3.Connection, segment: Segment) -> tuple[array[int], bytes, Widths]:
    """One segment's blocks as one byte string, with each bucket's offset in it."""
    seg, _, widths = segment
    base = seg << BUCKET_BITS
    rows = conn.execute(
        "SELECT id & ?, data FROM blocks WHERE id BETWEEN ? AND ? ORDER BY id",
        (LOW, base, base | LOW),
    )
    return (*_offsets(rows), widths)

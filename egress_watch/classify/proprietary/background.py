"""The background: public code whose common k-grams are never indexed and never alert.

By default every public code of a supported language installed here (``sources.py``: the
Python standard library, Go's, Debian's Go modules, global npm packages, the JDK), plus any
folders the user adds: the k-grams found in at least two of its files are idioms, not the
user's own. It is computed once per machine (``shared.py``) and reused by every index;
building a new one drops the postings of idioms that became public.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from egress_watch.classify.proprietary.files import PublicFile
from egress_watch.classify.proprietary.index import (
    FORMAT,
    Progress,
    bump_generation,
    forget_files,
)
from egress_watch.classify.proprietary.postings import drop_hashes, rewrite
from egress_watch.classify.proprietary.shared import (
    Built,
    common_hashes,
    loaded_array,
    loaded_background,
    shared_file,
    shared_header,
    write_shared,
)
from egress_watch.classify.proprietary.sources import (
    SOURCE_CAP_BYTES,
    SourceFiles,
    default_background,
    public_files,
)

if TYPE_CHECKING:
    from egress_watch.classify.proprietary.winnow_np import I32


@dataclasses.dataclass(frozen=True, slots=True)
class Background:
    """The public code whose common k-grams are never indexed."""

    sources: list[str]
    files: int
    bytes: int
    hashes: int
    seconds: float = 0.0
    """How long computing it took, once for the machine (not when it was reused)."""
    built: str = ""
    """When it was computed (UTC, ISO 8601)."""
    reused: bool = False
    """True when this index took it from the machine-wide file instead of computing it."""
    parts: list[SourceFiles] = dataclasses.field(default_factory=list)
    """What each source gave (files, bytes read of the bytes installed)."""

    @property
    def file_bytes(self) -> int:
        """The size of its machine-wide file: 4 bytes a hash."""
        return 4 * self.hashes


def background_to_build(conn: sqlite3.Connection) -> list[Path] | None:
    """What to build the background from before indexing: the default when it was never
    built, its recorded sources when a format reset emptied it (the default instead of any
    vanished source); None when it is in place."""
    info = background_info(conn)
    if info is None:
        return default_background()
    if not public_hashes_lost(conn):  # its header says it is there: 1.2 M hashes not read
        return None
    roots = [Path(source) for source in info.sources]
    kept = [root for root in roots if root.exists()]
    if len(kept) < len(roots):
        kept = [*default_background(), *[root for root in kept if root not in default_background()]]
    return kept


def describe_background(info: Background) -> str:
    """What a background holds and cost, one line per source, for the CLI and ``doctor``."""
    how = "reused this machine's, " if info.reused else ""
    when = f", built {info.built}" if info.built else ""
    lines = [
        f"background: {info.files} files ({info.bytes / 1e6:.1f} MB) of public code, "
        f"{info.hashes} common token sequences ({info.file_bytes / 1e6:.1f} MB); "
        f"{how}computed in {info.seconds:.1f} s{when}"
    ]
    for part in info.parts:
        capped = f" of {part.installed / 1e6:.1f} MB" if part.installed > part.bytes else ""
        lines.append(f"  {part.source}: {part.files} files, {part.bytes / 1e6:.1f} MB{capped}")
    if not info.parts:
        lines.append(f"  sources: {', '.join(info.sources) or 'none'}")
    return "\n".join(lines)


def background_info(conn: sqlite3.Connection) -> Background | None:
    """What the background was built from, or None when it has not been built."""
    row = conn.execute("SELECT value FROM meta WHERE key='background'").fetchone()
    if not row:
        return None
    fields = json.loads(row[0])
    parts = [SourceFiles(**part) for part in fields.pop("parts", [])]
    return Background(**fields, parts=parts)


def build_background(
    conn: sqlite3.Connection,
    roots: Iterable[Path],
    progress: Progress | None = None,
    exclude: Iterable[Path] = (),
    cap: int = SOURCE_CAP_BYTES,
) -> Background:
    """Replace the background with the k-grams found in two or more files under ``roots``
    (folders, or a JDK's ``src.zip``; at most ``cap`` bytes of each, none under
    ``exclude``): idioms of public code, not anyone's own.

    Every k-gram of every channel counts (not only the winnowed ones), so that a query's
    k-grams are looked up against all of them; postings already indexed with such a
    k-gram are deleted.
    """
    resolved = [Path(root).resolve() for root in roots]
    files: dict[str, PublicFile] = {}  # a file under two sources counts once
    parts = []
    for root in dict.fromkeys(resolved):
        listed, part = public_files(root, cap, list(exclude))
        fresh = [f for f in listed if f.key not in files]
        files.update((f.key, f) for f in fresh)
        parts.append(dataclasses.replace(part, files=len(fresh), bytes=sum(f.size for f in fresh)))
    chosen = list(files.values())
    shared = shared_file(chosen, FORMAT)
    cached = _cached(shared)
    if cached is None:
        started = time.perf_counter()
        common, total = common_hashes(chosen, progress)
        at = datetime.now(UTC).isoformat(timespec="seconds")
        built = Built(total, round(time.perf_counter() - started, 2), at)
        saved, count = write_shared(shared, common, built), len(common)
    else:
        (hashes, built), saved, count = cached, True, len(cached[0])
        if progress is not None:
            progress(len(chosen), len(chosen), built.bytes)
    info = Background(
        [str(root) for root in dict.fromkeys(resolved)],
        len(chosen),
        built.bytes,
        count,
        built.seconds,
        built.at,
        cached is not None,
        parts,
    )
    conn.execute("DELETE FROM background")
    if saved and _holds_nothing(conn):  # a new index: no postings or lines to drop
        _record(conn, info, shared)
        return info
    if cached is not None:  # comparing with the previous background takes a set
        common = set(hashes.tolist())
    previous = public_hashes(conn)
    if not previous <= common:  # idioms no longer public: their postings were never stored
        forget_files(conn)
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS fresh (hash INTEGER PRIMARY KEY)")
    conn.execute("DELETE FROM fresh")
    conn.executemany("INSERT INTO fresh VALUES (?)", ((h,) for h in sorted(common)))
    if previous != common:  # postings of the new public idioms (and of forgotten files) go
        live = {i for (i,) in conn.execute("SELECT id FROM files")}
        public = drop_hashes(common)
        rewrite(
            conn,
            keep=lambda hashes, files: [
                keep and f in live for keep, f in zip(public(hashes, files), files, strict=True)
            ],
        )
    conn.execute("DELETE FROM lines WHERE hash IN (SELECT hash FROM fresh)")
    if not saved:  # no machine-wide file (an unwritable cache folder): kept in the index
        conn.execute("INSERT INTO background SELECT hash FROM fresh")
    conn.execute("DROP TABLE fresh")
    _record(conn, info, shared if saved else None)
    return info


def _cached(shared: Path) -> tuple[I32, Built] | None:
    """The machine-wide background ``shared`` built before (its hashes as the sorted array
    ``public_array`` reads: a new index needs no set of them), or None."""
    built = shared_header(shared)
    hashes = None if built is None else loaded_array(shared)
    return None if built is None or hashes is None else (hashes, built)


def _holds_nothing(conn: sqlite3.Connection) -> bool:
    """True for an index with no files, postings or lines yet (registering a background in
    it drops nothing: filling a table of its 1.2 M hashes to find that out costs a second)."""
    return all(
        conn.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone() is None  # noqa: S608
        for table in ("files", "segments", "lines")
    )


def _record(conn: sqlite3.Connection, info: Background, shared: Path | None) -> None:
    """Remember which background the index uses (its machine-wide file, when there is one)."""
    for key, value in (
        ("background", json.dumps(dataclasses.asdict(info))),
        ("background_file", "" if shared is None else str(shared)),
    ):
        conn.execute(
            "INSERT INTO meta VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value=?",
            (key, value, value),
        )
    bump_generation(conn)
    conn.commit()


def public_hashes_lost(conn: sqlite3.Connection) -> bool:
    """True when ``public_hashes`` would come back empty: the machine-wide file is gone or
    damaged, or there is no background at all. Reads the file's header only, not its hashes
    (``doctor`` asks this, and needs no 100 MB set to know)."""
    row = conn.execute("SELECT value FROM meta WHERE key='background_file'").fetchone()
    if row and row[0]:
        return shared_header(Path(row[0])) is None
    return conn.execute("SELECT 1 FROM background LIMIT 1").fetchone() is None


def public_hashes(conn: sqlite3.Connection) -> frozenset[int]:
    """The background's hashes: from its machine-wide file, or from the index itself when
    that file could not be written; empty when there is none (or its file is gone)."""
    row = conn.execute("SELECT value FROM meta WHERE key='background_file'").fetchone()
    if row and row[0]:
        return loaded_background(Path(row[0]))
    return frozenset(h for (h,) in conn.execute("SELECT hash FROM background"))


def public_array(conn: sqlite3.Connection) -> I32:
    """``public_hashes`` as a sorted int32 array, what the add path filters with
    (``winnow_np.is_public``): read straight from the machine-wide file's body, or from the
    index when that file could not be written; empty when there is none (or its file is gone)."""
    import numpy as np

    row = conn.execute("SELECT value FROM meta WHERE key='background_file'").fetchone()
    if row and row[0]:
        hashes = loaded_array(Path(row[0]))
        return np.empty(0, np.int32) if hashes is None else hashes
    rows = conn.execute("SELECT hash FROM background ORDER BY hash")  # rare: no machine-wide file
    return np.fromiter((h for (h,) in rows), np.int32)

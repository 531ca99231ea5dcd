"""Your repositories in the code index: register, re-index incrementally, list, remove.

Re-indexing is incremental: a file whose git blob (or size and mtime) is unchanged is not
re-read; a changed file gets a new id and its old postings are ignored until they are purged.
Files are fingerprinted in worker processes (``jobs.py``) without the background's k-grams.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sqlite3
import time
from array import array
from collections.abc import Iterable
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import numpy as np

from egress_watch.classify.proprietary import idioms
from egress_watch.classify.proprietary.background import public_array
from egress_watch.classify.proprietary.file_counts import FileCounts
from egress_watch.classify.proprietary.files import Candidate, candidates
from egress_watch.classify.proprietary.index import (
    CodeIndexError,
    Progress,
    bump_generation,
    purge_dead_files,
    refresh_common,
    shrink,
)
from egress_watch.classify.proprietary.jobs import (
    FileFingerprints,
    fingerprint_files,
    kept_workers,
)
from egress_watch.classify.proprietary.packing import line_rows
from egress_watch.classify.proprietary.postings import SEGMENT_POSTINGS, Pending, write_segment
from egress_watch.classify.proprietary.tokenize import GENERIC, language_of


@dataclasses.dataclass(frozen=True, slots=True)
class RepoInfo:
    """One registered repository as ``index list`` shows it."""

    name: str
    root: str
    files: int
    bytes: int
    indexed_at: str | None


@dataclasses.dataclass(frozen=True, slots=True)
class IndexStats:
    """What one add / rebuild did."""

    files_seen: int
    files_read: int
    bytes_read: int
    files_removed: int
    seconds: float


def list_repos(conn: sqlite3.Connection) -> list[RepoInfo]:
    """Registered repositories, by name."""
    rows = conn.execute("SELECT name, root, files, bytes, indexed_at FROM repos ORDER BY name")
    return [RepoInfo(*row) for row in rows]


def add_repo(
    conn: sqlite3.Connection, root: Path, name: str, progress: Progress | None = None
) -> IndexStats:
    """Register (or refresh) ``root`` under ``name`` and index what changed since last time."""
    root = root.resolve()
    conn.execute(
        "INSERT INTO repos (name, root) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET root=?",
        (name, str(root), str(root)),
    )
    repo_id = conn.execute("SELECT id FROM repos WHERE name=?", (name,)).fetchone()[0]
    return _refresh(conn, repo_id, root, progress)


def rebuild(conn: sqlite3.Connection, name: str | None, progress: Progress | None = None) -> None:
    """Re-index one repository (or all) incrementally from its registered root."""
    rows = conn.execute("SELECT id, name, root FROM repos ORDER BY name").fetchall()
    chosen = [r for r in rows if name is None or r[1] == name]
    if name is not None and not chosen:
        raise CodeIndexError(f"no repository named {name!r} in the index")
    with kept_workers():
        for repo_id, _name, root in chosen:
            if not Path(root).is_dir():
                raise CodeIndexError(
                    f"{root}: repository {_name!r} is gone; egress-watch index remove"
                )
            _refresh(conn, repo_id, Path(root), progress)


def remove_repo(conn: sqlite3.Connection, name: str) -> None:
    """Forget a repository and its postings."""
    row = conn.execute("SELECT id FROM repos WHERE name=?", (name,)).fetchone()
    if row is None:
        raise CodeIndexError(f"no repository named {name!r} in the index")
    conn.execute("DELETE FROM files WHERE repo_id=?", (row[0],))
    conn.execute("DELETE FROM repos WHERE id=?", (row[0],))
    idioms.forget(conn, row[0])
    purge_dead_files(conn, force=True)
    refresh_common(conn)
    bump_generation(conn)
    conn.commit()
    shrink(conn)


def _refresh(
    conn: sqlite3.Connection, repo_id: int, root: Path, progress: Progress | None
) -> IndexStats:
    """Bring one repository's files and postings up to date with its working tree."""
    started = time.perf_counter()
    conn.execute("PRAGMA cache_size=-65536")
    known = {
        path: (file_id, key)
        for file_id, path, key in conn.execute(
            "SELECT id, path, key FROM files WHERE repo_id=?", (repo_id,)
        )
    }
    listed = list(candidates(root))
    todo = []
    for candidate in listed:
        old = known.get(candidate.path)
        if old is None or old[1] != candidate.key:
            todo.append(candidate)
            if old is not None:
                conn.execute("DELETE FROM files WHERE id=?", (old[0],))
    public = public_array(conn) if todo else np.empty(0, np.int32)
    keys = {c.path: c.key for c in todo}
    read = bytes_read = 0
    batch = _Batch(next_file_id=_next_file_id(conn))
    counts = FileCounts()
    results = fingerprint_files(root, list(keys), _total_size(root, todo), public)
    try:
        for done, result in enumerate(results, len(listed) - len(todo) + 1):
            if result.size >= 0:
                read += 1
                bytes_read += result.size
            if result.skipped is None:
                _store(conn, repo_id, keys[result.path], result, batch)
                counts.add(result.kgrams)
            if progress is not None:
                progress(done, len(listed), bytes_read)
    except BrokenProcessPool as error:
        conn.rollback()  # the index stays as it was before this run
        raise CodeIndexError(
            f"an indexing worker process died ({error}); nothing was changed, run it again"
        ) from None
    _write(conn, batch)
    idioms.store(conn, repo_id, counts, whole=len(todo) == len(listed), exclude=public)
    seen = {c.path for c in listed}
    gone = [file_id for path, (file_id, _) in known.items() if path not in seen]
    conn.executemany("DELETE FROM files WHERE id=?", [(i,) for i in gone])
    totals = conn.execute(
        "SELECT COUNT(*), COALESCE(SUM(bytes), 0) FROM files WHERE repo_id=?", (repo_id,)
    ).fetchone()
    conn.execute(
        "UPDATE repos SET files=?, bytes=?, indexed_at=? WHERE id=?",
        (totals[0], totals[1], time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), repo_id),
    )
    purge_dead_files(conn)
    refresh_common(conn, force=False)
    bump_generation(conn)
    conn.commit()
    shrink(conn)
    if progress is not None:
        progress(len(listed), len(listed), bytes_read)
    return IndexStats(len(listed), read, bytes_read, len(gone), time.perf_counter() - started)


@dataclasses.dataclass(slots=True)
class _Batch:
    """What an add has gathered and not yet written: files' rows, postings and line hashes."""

    next_file_id: int
    files: list[tuple[int, int, str, str, int, str]] = dataclasses.field(default_factory=list)
    postings: Pending = dataclasses.field(default_factory=Pending)
    line_hashes: list[array[int]] = dataclasses.field(default_factory=list)
    line_files: list[int] = dataclasses.field(default_factory=list)


def _next_file_id(conn: sqlite3.Connection) -> int:
    """The id SQLite would give the next file (ids are never reused: AUTOINCREMENT)."""
    row = conn.execute(
        "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'files'), 0), "
        "COALESCE((SELECT MAX(id) FROM files), 0))"
    ).fetchone()
    return int(row[0]) + 1


def _store(
    conn: sqlite3.Connection,
    repo_id: int,
    key: str,
    result: FileFingerprints,
    batch: _Batch,
) -> None:
    """Record one fingerprinted file with ``batch``: its row, postings and lines."""
    file_id = batch.next_file_id
    batch.next_file_id += 1
    lang = language_of(result.path) or GENERIC
    batch.files.append((file_id, repo_id, result.path, key, result.size, lang))
    batch.postings.add(result.hashes, file_id, result.positions, result.lines)
    if result.line_hashes:
        batch.line_hashes.append(result.line_hashes)
        batch.line_files.append(file_id)
    if len(batch.postings) >= SEGMENT_POSTINGS:
        _write(conn, batch)


def _write(conn: sqlite3.Connection, batch: _Batch) -> None:
    """Write the batch's file rows, its postings as a segment and its lines (sorted:
    appended, not scattered over the table's B-tree), and empty it."""
    conn.executemany(
        "INSERT INTO files (id, repo_id, path, key, bytes, lang) VALUES (?, ?, ?, ?, ?, ?)",
        batch.files,
    )
    write_segment(conn, batch.postings)
    rows = line_rows(batch.line_hashes, batch.line_files)
    conn.executemany("INSERT OR IGNORE INTO lines VALUES (?, ?)", rows)
    batch.files.clear()
    batch.line_hashes.clear()
    batch.line_files.clear()


def _total_size(root: Path, files: Iterable[Candidate]) -> int:
    """Bytes on disk of ``files`` (what decides whether indexing runs in parallel): the
    sizes the listing learnt, a stat for the others."""
    total = 0
    folder = os.path.join(root, "")
    for candidate in files:
        if candidate.size >= 0:
            total += candidate.size
            continue
        with contextlib.suppress(OSError):
            total += os.stat(folder + candidate.path).st_size
    return total

"""The code index: winnowed fingerprints of registered repositories in a private SQLite file.

Holds no code: only 32-bit k-gram hashes with file, token position and line, packed in blocks
(see ``postings.py``). Re-indexing is
incremental: a file whose git blob (or size and mtime) is unchanged is not re-read; a changed
file gets a new id and its old postings are ignored until they are purged.

A *background* of public code (the Python standard library by default, plus any folders the
user adds, e.g. ``node_modules``) lists the k-grams found in at least two of its files: such
idioms are not the user's own, so they are never indexed and never alert. It is computed once
per machine (see ``shared.py``) and reused by every index.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import sqlite3
import sys
import sysconfig
import time
from collections.abc import Callable, Iterable
from concurrent.futures.process import BrokenProcessPool
from itertools import repeat
from pathlib import Path

from egress_watch.classify.proprietary.files import candidates
from egress_watch.classify.proprietary.jobs import FileFingerprints, fingerprint_files
from egress_watch.classify.proprietary.postings import (
    SCHEMA as POSTINGS_SCHEMA,
)
from egress_watch.classify.proprietary.postings import (
    SEGMENT_POSTINGS,
    Pending,
    drop_hashes,
    frequent,
    keep_files,
    rewrite,
    write_segment,
)
from egress_watch.classify.proprietary.shared import (
    common_hashes,
    loaded_background,
    read_shared,
    shared_file,
    write_shared,
)
from egress_watch.classify.proprietary.tokenize import GENERIC, language_of
from egress_watch.classify.proprietary.winnow import FINGERPRINTS

INDEX_FILE = "code-index.db"
FORMAT = f"4-f{FINGERPRINTS}-py{sys.version_info.major}.{sys.version_info.minor}"
PURGE_FRACTION = 0.1
SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS repos (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, root TEXT NOT NULL,
    indexed_at TEXT, files INTEGER NOT NULL DEFAULT 0, bytes INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS files (
    id INTEGER PRIMARY KEY AUTOINCREMENT, repo_id INTEGER NOT NULL, path TEXT NOT NULL,
    key TEXT NOT NULL, bytes INTEGER NOT NULL, lang TEXT NOT NULL DEFAULT 'generic',
    UNIQUE (repo_id, path));
CREATE TABLE IF NOT EXISTS common (hash INTEGER PRIMARY KEY);
CREATE TABLE IF NOT EXISTS background (hash INTEGER PRIMARY KEY);
CREATE TABLE IF NOT EXISTS lines (
    hash INTEGER NOT NULL, file_id INTEGER NOT NULL, PRIMARY KEY (hash, file_id)) WITHOUT ROWID;
"""
    + POSTINGS_SCHEMA
)
STDLIB_SKIP = frozenset({"site-packages", "dist-packages", "test", "tests", "idlelib", "lib2to3"})
MAX_POSTINGS_PER_HASH = 64
"""A k-gram stored more often than this is boilerplate: queries skip it without reading it."""

Progress = Callable[[int, int, int], None]
"""Called with (files done, files in total, bytes read) as indexing advances."""


class CodeIndexError(Exception):
    """The index cannot be used (wrong format, unknown repository)."""


@dataclasses.dataclass(frozen=True, slots=True)
class RepoInfo:
    """One registered repository as ``index list`` shows it."""

    name: str
    root: str
    files: int
    bytes: int
    indexed_at: str | None


@dataclasses.dataclass(frozen=True, slots=True)
class Background:
    """The public code whose common k-grams are never indexed."""

    sources: list[str]
    files: int
    bytes: int
    hashes: int


@dataclasses.dataclass(frozen=True, slots=True)
class IndexStats:
    """What one add / rebuild did."""

    files_seen: int
    files_read: int
    bytes_read: int
    files_removed: int
    seconds: float


def index_path(home: Path) -> Path:
    """Where the index lives: beside the history database."""
    return home / INDEX_FILE


def open_index(path: Path, create: bool = True, reset: bool = False) -> sqlite3.Connection:
    """Open (and create 0600 when allowed) the index; refuse one written by another format,
    or with ``reset`` (what ``index rebuild`` does) empty it of everything derived, keeping the
    registered repositories and the background's sources, ready to be re-indexed."""
    if not path.exists():
        if not create:
            raise CodeIndexError(f"{path}: no code index yet (egress-watch index add PATH)")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        os.close(fd)
    conn = sqlite3.connect(path, timeout=10, check_same_thread=False)
    # Merged segments free whole pages: give them back to the file system after each change
    # (takes effect on a new file; ``_reset`` turns it on for an older one).
    conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.executescript(SCHEMA)
    columns = {row[1] for row in conn.execute("PRAGMA table_info(files)")}
    if "lang" not in columns:  # an index from before files kept their language family
        conn.execute("ALTER TABLE files ADD COLUMN lang TEXT NOT NULL DEFAULT 'generic'")
        conn.commit()
    row = conn.execute("SELECT value FROM meta WHERE key='format'").fetchone()
    if row is None:
        conn.execute("INSERT INTO meta VALUES ('format', ?)", (FORMAT,))
        conn.commit()
    elif row[0] != FORMAT and reset:
        _reset(conn)
    elif row[0] != FORMAT:
        conn.close()
        raise CodeIndexError(
            f"{path}: index format {row[0]} differs from {FORMAT} (another egress-watch or "
            "Python version wrote it); run egress-watch index rebuild"
        )
    return conn


def _reset(conn: sqlite3.Connection) -> None:
    """Drop every hash (they depend on the format), keep repositories and sources."""
    conn.execute("DROP TABLE IF EXISTS postings")  # one row per posting, up to format 3
    for table in ("segments", "blocks", "lines", "common", "background"):
        conn.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
    _forget_files(conn)
    conn.execute("DELETE FROM meta WHERE key IN ('common_bytes', 'purged', 'background_file')")
    conn.execute("UPDATE meta SET value = ? WHERE key = 'format'", (FORMAT,))
    _bump(conn)
    conn.commit()
    conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
    conn.execute("VACUUM")  # the old format's postings leave much free space


def _forget_files(conn: sqlite3.Connection) -> None:
    """Mark every repository as needing a full re-index (``needs_reindex`` says so)."""
    conn.execute("DELETE FROM files")
    conn.execute("UPDATE repos SET files = 0, bytes = 0, indexed_at = NULL")


def needs_reindex(conn: sqlite3.Connection) -> bool:
    """True when some registered repository has no indexed files any more (after a format
    change or a smaller background): ``rebuild`` must read all of them again."""
    return (
        conn.execute("SELECT 1 FROM repos WHERE indexed_at IS NULL LIMIT 1").fetchone() is not None
    )


def background_to_build(conn: sqlite3.Connection) -> list[Path] | None:
    """What to build the background from before indexing: the default when it was never
    built, its recorded sources when a format reset emptied it (a vanished stdlib replaced
    by this Python's); None when it is in place."""
    info = background_info(conn)
    if info is None:
        return default_background()
    if public_hashes(conn):
        return None
    roots = [Path(source) for source in info.sources]
    stdlib = default_background()
    kept = [root for root in roots if root.is_dir()]
    if len(kept) < len(roots):
        kept = [*stdlib, *[root for root in kept if root not in stdlib]]
    return kept


def default_background() -> list[Path]:
    """Public code present wherever egress-watch runs: the Python standard library."""
    return [Path(sysconfig.get_paths()["stdlib"])]


GO_SOURCES = ("/usr/share/go-*/src", "/usr/lib/go-*/src", "/usr/local/go/src")
NODE_PACKAGES = ("/usr/lib/node_modules", "/usr/local/lib/node_modules")


def installed_public_code() -> list[Path]:
    """Published code installed on this machine besides the Python stdlib: the newest Go
    distribution's standard library (less its compiler, ``cmd``) and the global Node
    packages. What ``index background --installed`` adds."""
    found: list[Path] = []
    go = sorted(p for pattern in GO_SOURCES for p in Path("/").glob(pattern.lstrip("/")))
    if go:
        found += sorted(p for p in go[-1].iterdir() if p.is_dir() and p.name != "cmd")
    found += [p for p in map(Path, NODE_PACKAGES) if p.is_dir()]
    return found


def environment_packages() -> Path:
    """The site-packages of egress-watch's own environment: published packages only."""
    return Path(sysconfig.get_paths()["purelib"])


def background_info(conn: sqlite3.Connection) -> Background | None:
    """What the background was built from, or None when it has not been built."""
    row = conn.execute("SELECT value FROM meta WHERE key='background'").fetchone()
    return Background(**json.loads(row[0])) if row else None


def build_background(
    conn: sqlite3.Connection, roots: Iterable[Path], progress: Progress | None = None
) -> Background:
    """Replace the background with the k-grams found in two or more files under ``roots``:
    idioms of public code, not anyone's own.

    Every k-gram of every channel counts (not only the winnowed ones), so that a query's
    k-grams are looked up against all of them; postings already indexed with such a
    k-gram are deleted.
    """
    stdlib = {root.resolve() for root in default_background()}
    resolved = [Path(root).resolve() for root in roots]
    files = [
        root / c.path
        for root in resolved
        for c in candidates(root, published=True)
        if root not in stdlib or not STDLIB_SKIP.intersection(c.path.split("/")[:-1])
    ]
    shared = shared_file(files, FORMAT)
    cached = read_shared(shared)
    if cached is None:
        common, total = common_hashes(files, progress)
        saved = write_shared(shared, common, total)
    else:
        (common, total), saved = cached, True
        if progress is not None:
            progress(len(files), len(files), total)
    info = Background([str(root) for root in resolved], len(files), total, len(common))
    previous = public_hashes(conn)
    if not previous <= common:  # idioms no longer public: their postings were never stored
        _forget_files(conn)
    conn.execute("DELETE FROM background")
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
    for key, value in (
        ("background", json.dumps(dataclasses.asdict(info))),
        ("background_file", str(shared) if saved else ""),
    ):
        conn.execute(
            "INSERT INTO meta VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value=?",
            (key, value, value),
        )
    _bump(conn)
    conn.commit()
    return info


def public_hashes(conn: sqlite3.Connection) -> frozenset[int]:
    """The background's hashes: from its machine-wide file, or from the index itself when
    that file could not be written; empty when there is none (or its file is gone)."""
    row = conn.execute("SELECT value FROM meta WHERE key='background_file'").fetchone()
    if row and row[0]:
        return loaded_background(Path(row[0]))
    return frozenset(h for (h,) in conn.execute("SELECT hash FROM background"))


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
    for repo_id, _name, root in chosen:
        if not Path(root).is_dir():
            raise CodeIndexError(f"{root}: repository {_name!r} is gone; egress-watch index remove")
        _refresh(conn, repo_id, Path(root), progress)


def remove_repo(conn: sqlite3.Connection, name: str) -> None:
    """Forget a repository and its postings."""
    row = conn.execute("SELECT id FROM repos WHERE name=?", (name,)).fetchone()
    if row is None:
        raise CodeIndexError(f"no repository named {name!r} in the index")
    conn.execute("DELETE FROM files WHERE repo_id=?", (row[0],))
    conn.execute("DELETE FROM repos WHERE id=?", (row[0],))
    _purge(conn, force=True)
    refresh_common(conn)
    _bump(conn)
    conn.commit()
    _shrink(conn)


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
    public = public_hashes(conn) if todo else frozenset()
    keys = {c.path: c.key for c in todo}
    read = bytes_read = 0
    batch = Pending()
    results = fingerprint_files(root, list(keys), _total_size(root, keys), public)
    try:
        for done, result in enumerate(results, len(listed) - len(todo) + 1):
            if result.size >= 0:
                read += 1
                bytes_read += result.size
            if result.skipped is None:
                _store(conn, repo_id, keys[result.path], result, batch)
            if progress is not None:
                progress(done, len(listed), bytes_read)
    except BrokenProcessPool as error:
        conn.rollback()  # the index stays as it was before this run
        raise CodeIndexError(
            f"an indexing worker process died ({error}); nothing was changed, run it again"
        ) from None
    write_segment(conn, batch)
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
    _purge(conn)
    refresh_common(conn, force=False)
    _bump(conn)
    conn.commit()
    _shrink(conn)
    if progress is not None:
        progress(len(listed), len(listed), bytes_read)
    return IndexStats(len(listed), read, bytes_read, len(gone), time.perf_counter() - started)


def _store(
    conn: sqlite3.Connection,
    repo_id: int,
    key: str,
    result: FileFingerprints,
    batch: Pending,
) -> None:
    """Record one fingerprinted file: its row and lines now, its postings with ``batch``."""
    file_id: int = conn.execute(
        "INSERT INTO files (repo_id, path, key, bytes, lang) VALUES (?, ?, ?, ?, ?) RETURNING id",
        (repo_id, result.path, key, result.size, language_of(result.path) or GENERIC),
    ).fetchone()[0]
    batch.add(result.hashes, file_id, result.positions, result.lines)
    conn.executemany(
        "INSERT OR IGNORE INTO lines VALUES (?, ?)", zip(result.line_hashes, repeat(file_id))
    )
    if len(batch) >= SEGMENT_POSTINGS:
        write_segment(conn, batch)


def _total_size(root: Path, paths: Iterable[str]) -> int:
    """Bytes on disk of ``paths`` (what decides whether indexing runs in parallel)."""
    total = 0
    for path in paths:
        with contextlib.suppress(OSError):
            total += (root / path).stat().st_size
    return total


def refresh_common(conn: sqlite3.Connection, force: bool = True) -> None:
    """Recount the k-grams stored too often to be anything but boilerplate (one full scan).

    The table only spares queries reading long postings lists (they skip such k-grams
    anyway), so unless forced (a repository was removed) the scan runs once the indexed
    source has doubled since the last one: adding many repositories stays linear.
    """
    total = conn.execute("SELECT COALESCE(SUM(bytes), 0) FROM files").fetchone()[0]
    row = conn.execute("SELECT value FROM meta WHERE key='common_bytes'").fetchone()
    if not force and row is not None and total <= int(row[0]) * 2:
        return
    conn.execute(
        "INSERT INTO meta VALUES ('common_bytes', ?) ON CONFLICT(key) DO UPDATE SET value=?",
        (str(total), str(total)),
    )
    conn.execute("DELETE FROM common")
    conn.executemany(
        "INSERT INTO common VALUES (?)", ((h,) for h in frequent(conn, MAX_POSTINGS_PER_HASH))
    )


def _shrink(conn: sqlite3.Connection) -> None:
    """Return the pages merged or removed segments left free to the file system."""
    conn.execute("PRAGMA incremental_vacuum").fetchall()  # frees a page per row read
    conn.commit()


def _bump(conn: sqlite3.Connection) -> None:
    """Advance the generation so open matchers reload their file table."""
    conn.execute(
        "INSERT INTO meta VALUES ('generation', '1') ON CONFLICT(key) DO UPDATE "
        "SET value = CAST(value AS INTEGER) + 1"
    )


def _purge(conn: sqlite3.Connection, force: bool = False) -> None:
    """Delete postings of removed or replaced files once they are a noticeable share."""
    live = conn.execute("SELECT COUNT(*) FROM files").fetchone()[0]
    row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name='files'").fetchone()
    high = row[0] if row else 0
    dead_ids = high - live  # ids are never reused (AUTOINCREMENT)
    row = conn.execute("SELECT value FROM meta WHERE key='purged'").fetchone()
    fresh = dead_ids - (int(row[0]) if row else 0)
    if fresh <= 0 or (not force and fresh <= max(1, int(PURGE_FRACTION * max(live, 1)))):
        return
    rewrite(conn, keep=keep_files({i for (i,) in conn.execute("SELECT id FROM files")}))
    conn.execute("DELETE FROM lines WHERE file_id NOT IN (SELECT id FROM files)")
    conn.execute(
        "INSERT INTO meta VALUES ('purged', ?) ON CONFLICT(key) DO UPDATE SET value=?",
        (str(dead_ids), str(dead_ids)),
    )
    conn.commit()

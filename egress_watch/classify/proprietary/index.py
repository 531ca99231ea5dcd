"""The code index: winnowed fingerprints of registered repositories in a private SQLite file.

Holds no code: only 32-bit k-gram hashes with file, token position and line, packed in blocks
(``postings.py``). This module owns the file itself: its schema and format, opening it (or
resetting it for another format) and the upkeep every change ends with (purging the postings of
dead files, recounting boilerplate k-grams, the generation matchers watch). What goes in it:
``repos.py`` (your repositories) and ``background.py`` (public code that never alerts).
"""

from __future__ import annotations

import os
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path

from egress_watch.classify.proprietary.idioms import SCHEMA as IDIOMS_SCHEMA
from egress_watch.classify.proprietary.postings import SCHEMA as POSTINGS_SCHEMA
from egress_watch.classify.proprietary.postings import frequent, keep_files, rewrite
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
    + IDIOMS_SCHEMA
)
MAX_POSTINGS_PER_HASH = 64
"""A k-gram stored more often than this is boilerplate: queries skip it without reading it."""

Progress = Callable[[int, int, int], None]
"""Called with (files done, files in total, bytes read) as indexing advances."""


class CodeIndexError(Exception):
    """The index cannot be used (wrong format, unknown repository)."""


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
    for table in ("segments", "blocks", "lines", "common", "background", "idioms"):
        conn.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
    forget_files(conn)
    conn.execute("DELETE FROM meta WHERE key IN ('common_bytes', 'purged', 'background_file')")
    conn.execute("UPDATE meta SET value = ? WHERE key = 'format'", (FORMAT,))
    bump_generation(conn)
    conn.commit()
    conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
    conn.execute("VACUUM")  # the old format's postings leave much free space


def forget_files(conn: sqlite3.Connection) -> None:
    """Mark every repository as needing a full re-index (``needs_reindex`` says so)."""
    conn.execute("DELETE FROM files")
    conn.execute("UPDATE repos SET files = 0, bytes = 0, indexed_at = NULL")


def needs_reindex(conn: sqlite3.Connection) -> bool:
    """True when some registered repository has no indexed files any more (after a format
    change or a smaller background): ``rebuild`` must read all of them again."""
    return (
        conn.execute("SELECT 1 FROM repos WHERE indexed_at IS NULL LIMIT 1").fetchone() is not None
    )


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


def shrink(conn: sqlite3.Connection) -> None:
    """Return the pages merged or removed segments left free to the file system."""
    conn.execute("PRAGMA incremental_vacuum").fetchall()  # frees a page per row read
    conn.commit()


def bump_generation(conn: sqlite3.Connection) -> None:
    """Advance the generation so open matchers reload their file table."""
    conn.execute(
        "INSERT INTO meta VALUES ('generation', '1') ON CONFLICT(key) DO UPDATE "
        "SET value = CAST(value AS INTEGER) + 1"
    )


def purge_dead_files(conn: sqlite3.Connection, force: bool = False) -> None:
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

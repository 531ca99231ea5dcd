"""Open the history database: private file mode, WAL, migrated; read-only for readers."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from egress_watch.errors import StoreError
from egress_watch.paths import make_private_dirs
from egress_watch.store.migrations import migrations
from egress_watch.store.sqlite import Database

BUSY_TIMEOUT_MS = 5000
WRITER_CACHE_KIB = 64 * 1024


def _create_private(path: Path) -> None:
    """Create an empty 0600 file so SQLite (and its -wal/-shm, which copy it) stays private."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
    except FileExistsError:
        pass


def open_writer(path: Path, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> Database:
    """Open (creating if needed) the database for the one writer, and apply migrations."""
    try:
        make_private_dirs(path.parent)
        _create_private(path)
        conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        db = Database(conn)
        db.enable_wal()
        conn.execute("PRAGMA synchronous = NORMAL")
        # Random fingerprints spread index writes over the whole file; a larger page cache
        # keeps a year of history writing at thousands of events per second.
        conn.execute(f"PRAGMA cache_size = -{WRITER_CACHE_KIB}")
        conn.execute("PRAGMA foreign_keys = ON")
        migrations.apply(db)
    except sqlite3.DatabaseError as error:
        raise StoreError(f"{path}: cannot open history database: {error}") from None
    except OSError as error:
        raise StoreError(f"{path}: cannot open history database: {error.strerror}") from None
    return db


def open_reader(path: Path) -> Database:
    """Open the database read-only; a missing file is an error, not a silent empty database."""
    if not path.exists():
        raise StoreError(f"{path}: no history yet (start the proxy with `egress-watch start`)")
    try:
        try:
            db = _reader(path, "mode=ro")
        except sqlite3.OperationalError:
            if not _frozen(path):
                if not os.access(path.parent, os.W_OK):
                    raise StoreError(
                        f"{path}: cannot read history database on a read-only folder while its "
                        "write-ahead log (-wal) is not checkpointed; copy the folder somewhere "
                        "writable and read it there"
                    ) from None
                raise
            # A read-only home: SQLite cannot create the WAL index it needs, and no writer can
            # be at work in it, so the main file holds every committed event.
            db = _reader(path, "mode=ro&immutable=1")
        if migrations.pending(db):
            raise StoreError(
                f"{path}: database schema is older than this version; run the daemon once"
            )
    except sqlite3.DatabaseError as error:
        raise StoreError(f"{path}: cannot read history database: {error}") from None
    return db


def _reader(path: Path, query: str) -> Database:
    conn = sqlite3.connect(f"{path.as_uri()}?{query}", uri=True, check_same_thread=False)
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # opens the file now
    except sqlite3.DatabaseError:
        conn.close()
        raise
    return Database(conn)


def _frozen(path: Path) -> bool:
    """The database's folder cannot be written (a read-only mount) and it has no WAL left."""
    wal = path.with_name(path.name + "-wal")
    return not os.access(path.parent, os.W_OK) and not wal.exists()

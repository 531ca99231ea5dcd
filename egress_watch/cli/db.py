"""``egress-watch db``: where the history is, and keeping it healthy."""

from __future__ import annotations

import sqlite3
import sys

import click

from egress_watch.cli.options import current_paths, home_option, translate_errors
from egress_watch.errors import StoreError


@click.group()
def db() -> None:
    """The history database: path, migrate, vacuum, check."""


@db.command()
@home_option
def path() -> None:
    """Print the history database's path (open it with sqlite3 or datasette)."""
    click.echo(current_paths().database)


@db.command()
@home_option
@translate_errors
def migrate() -> None:
    """Apply pending schema migrations (the daemon also does this when it starts)."""
    from egress_watch.store.database import open_writer
    from egress_watch.store.migrations import migrations

    database = open_writer(current_paths().database)
    applied = [m.name for m in migrations.applied(database)]
    database.conn.close()
    click.echo(f"schema up to date: {applied[-1]}", err=True)


@db.command()
@home_option
@translate_errors
def vacuum() -> None:
    """Reclaim space left by pruned events (briefly locks the database)."""
    from egress_watch.store.database import open_writer

    target = current_paths().database
    database = open_writer(target)
    before = target.stat().st_size
    try:
        database.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        database.conn.execute("VACUUM")
    except sqlite3.Error as error:
        raise StoreError(f"{target}: vacuum failed: {error}") from None
    finally:
        database.conn.close()
    click.echo(f"{target}: {before:,} → {target.stat().st_size:,} bytes", err=True)


@db.command()
@home_option
@translate_errors
def check() -> None:
    """Run SQLite's integrity check; exit 1 if the database is damaged."""
    from egress_watch.store.database import open_reader

    database = open_reader(current_paths().database)
    try:
        problems = [row[0] for row in database.execute("PRAGMA integrity_check").fetchall()]
        events = database.execute("SELECT count(*) FROM events").fetchone()[0]
    except sqlite3.DatabaseError as error:
        raise StoreError(f"{current_paths().database}: cannot check: {error}") from None
    finally:
        database.conn.close()
    if problems != ["ok"]:
        for problem in problems:
            click.echo(problem, err=True)
        sys.exit(1)
    click.echo(f"ok: {events:,} events")

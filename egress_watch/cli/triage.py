"""``egress-watch ack`` and ``allow``: triage findings, stop acting on false positives."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict

import click

from egress_watch.cli.options import UsageProblem, current_paths, home_option, translate_errors


@contextmanager
def _database() -> Iterator[sqlite3.Connection]:
    """A short-lived write connection, one transaction; the daemon's writer waits on the lock."""
    from egress_watch.store.database import open_writer

    db = open_writer(current_paths().database)
    try:
        with db.conn:
            db.conn.execute("BEGIN IMMEDIATE")
            yield db.conn
    finally:
        db.conn.close()


@click.command()
@home_option
@click.argument("event_id", type=click.IntRange(1))
@click.option("--note", metavar="TEXT", help="Why the event needs no further action.")
@translate_errors
def ack(event_id: int, note: str | None) -> None:
    """Acknowledge an event (IDs from `egress-watch events`).

    Example: egress-watch ack 42 --note "rotated the key"
    """
    from egress_watch.store.triage import acknowledge

    with _database() as conn:
        acknowledge(conn, event_id, note)
    click.echo(f"acknowledged event {event_id}")


@click.command()
@home_option
@click.argument("fingerprint", required=False)
@click.option("--reason", metavar="TEXT", help="Why this value may leave (required to allow).")
@click.option("--list", "show_list", is_flag=True, help="List allowed fingerprints.")
@click.option("--remove", metavar="FINGERPRINT", help="Revoke an allowed fingerprint.")
@click.option("--json", "as_json", is_flag=True, help="With --list: one JSON object per line.")
@translate_errors
def allow(
    fingerprint: str | None,
    reason: str | None,
    show_list: bool,
    remove: str | None,
    as_json: bool,
) -> None:
    """Allow a value by fingerprint: it is still recorded, but never alerted on, redacted or
    blocked. The running daemon applies it within a second.

    Example: egress-watch allow hmac-sha256:3f9a… --reason "test fixture, not a live key"
    """
    from egress_watch.store import triage

    chosen = [name for name, given in (("FINGERPRINT", fingerprint), ("--list", show_list),
                                       ("--remove", remove)) if given]  # fmt: skip
    if len(chosen) != 1:
        raise UsageProblem("give exactly one of FINGERPRINT (with --reason), --list, --remove")
    with _database() as conn:
        if show_list:
            entries = triage.list_allowed(conn)
        elif remove:
            triage.remove(conn, remove)
        else:
            if not reason:
                raise UsageProblem("--reason TEXT is required: say why this value may leave")
            entry = triage.allow(conn, fingerprint or "", reason)
    if show_list:
        for item in entries:
            line = (
                f"{item.fingerprint}  {item.rule or '-':<24} {item.created_at[:19]}  {item.reason}"
            )
            click.echo(json.dumps(asdict(item)) if as_json else line)
        if not entries and not as_json:
            click.echo("no allowed fingerprints", err=True)
    elif remove:
        click.echo(f"removed {remove}")
    else:
        click.echo(f"allowed {entry.fingerprint} ({entry.rule or 'rule not seen yet'})")

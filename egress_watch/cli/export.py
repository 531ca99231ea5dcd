"""``egress-watch export status`` and ``export replay``: the fleet export's lag and re-sends."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import click

from egress_watch.cli.options import (
    CONTEXT_SETTINGS,
    UsageProblem,
    current_paths,
    home_option,
    translate_errors,
)


def _moment(option: str, value: str) -> str:
    from egress_watch.model import utc_iso
    from egress_watch.store.queries import parse_when

    try:
        return utc_iso(parse_when(value, datetime.now(UTC)))
    except ValueError as error:
        raise UsageProblem(f"{option}: {error}") from None


def status_line(row: dict[str, Any], max_backlog: int) -> str:
    """One line per sink: lag, oldest waiting event, delivered, errors and the last error."""
    state = "active" if row["active"] else "not started" if row["configured"] else "removed"
    line = (
        f"{row['sink']:<16} {state:<14} lag {row['lag']:>7}  delivered {row['delivered']:>8}  "
        f"errors {row['errors']:>4}  dropped {row['dropped']:>4}"
    )
    if row["lag"]:
        line += f"  oldest waiting {str(row['oldest_waiting'])[:19]}"
    if row["lag"] >= 0.8 * max_backlog:
        line += f"  WARNING: backlog near its limit ({max_backlog})"
    if row["last_error"]:
        line += f"\n{'':<16} last error {str(row['last_error_at'])[:19]}: {row['last_error']}"
    return line


@click.group(context_settings=CONTEXT_SETTINGS)
@home_option
def export() -> None:
    """Fleet export to syslog, OpenTelemetry, files and webhooks ([export] in config.toml)."""


@export.command(name="status")
@home_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object per sink, per line.")
@translate_errors
def export_status(as_json: bool) -> None:
    """Per-sink lag (events not yet delivered), deliveries and errors.

    Example: egress-watch export status
    """
    from egress_watch.config.settings import load_settings
    from egress_watch.export import outbox
    from egress_watch.store.database import open_reader

    paths = current_paths()
    settings = load_settings(paths.config)
    db = open_reader(paths.database)
    try:
        rows = outbox.status(db.conn)
    finally:
        db.conn.close()
    configured = {s.name for s in settings.export_sinks}
    rows += [
        {"sink": name, "active": False, "lag": 0, "oldest_waiting": None, "delivered": 0,
         "delivered_at": None, "errors": 0, "last_error": None, "last_error_at": None,
         "dropped": 0, "note": "configured; the daemon has not started it yet"}
        for name in sorted(configured - {r["sink"] for r in rows})
    ]  # fmt: skip
    for row in rows:
        row["configured"] = row["sink"] in configured
        click.echo(json.dumps(row) if as_json else status_line(row, settings.export_max_backlog))
    if not rows and not as_json:
        click.echo("no export sinks configured (see [export] in config.toml)")


@export.command(name="replay")
@home_option
@click.option("--since", required=True, metavar="WHEN", help="From: 7d, 12h, 30m or a date.")
@click.option("--until", metavar="WHEN", help="Up to (same forms as --since). Default: now.")
@click.option("--sink", metavar="NAME", help="Only to this sink. Default: every sink.")
@translate_errors
def export_replay(since: str, until: str | None, sink: str | None) -> None:
    """Send stored events again (receivers drop duplicates by their uid).

    Example: egress-watch export replay --since 2d --sink siem
    """
    from egress_watch.config.settings import load_settings
    from egress_watch.export import outbox
    from egress_watch.store.database import open_writer

    paths = current_paths()
    names = {s.name for s in load_settings(paths.config).export_sinks}
    if not names:
        raise UsageProblem("no export sinks configured (see [export] in config.toml)")
    if sink is not None and sink not in names:
        known = ", ".join(sorted(names))
        raise UsageProblem(f"--sink: unknown sink {sink!r} (configured: {known})")
    start, end = _moment("--since", since), _moment("--until", until) if until else None
    db = open_writer(paths.database)
    try:
        queued = outbox.replay(db.conn, start, end, sink)
    finally:
        db.conn.close()
    click.echo(f"queued {queued} event(s) for {sink or 'every sink'}; the daemon sends them")

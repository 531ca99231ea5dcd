"""``egress-watch report``: the exposure summary of a window, in one of four formats."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import click

from egress_watch.catalog.services import Catalog
from egress_watch.cli.options import UsageProblem, current_paths, home_option, translate_errors
from egress_watch.report import FORMATS, renderer


def write_private(path: Path, content: str) -> None:
    """Write the report atomically as a 0600 file: a reader never sees half a report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@click.command()
@home_option
@click.option(
    "--since", metavar="WHEN", help="Window start: 7d (default), 12h or a date; ends now."
)
@click.option("--from", "start", metavar="DATE", help="Window start (a date or ISO time).")
@click.option(
    "--to",
    "end",
    metavar="DATE",
    help="Window end; a bare date includes that whole day. Default: now.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="text for the terminal, md for a ticket, html for a browser, json for tools.",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file (0600) instead of standard output.",
)
@click.option(
    "--notify",
    is_flag=True,
    help="Also show a desktop notification with the totals (for the weekly job).",
)
@translate_errors
def report(
    since: str | None,
    start: str | None,
    end: str | None,
    fmt: str,
    output: Path | None,
    notify: bool,
) -> None:
    """Summarise what left this machine in a window, with the trend against the one before.

    Example: egress-watch report --since 7d --format html --output week.html
    """
    from egress_watch.report.data import assemble, build_report
    from egress_watch.report.period import resolve_period
    from egress_watch.report.queries import PeriodRows
    from egress_watch.store.database import open_reader

    now = datetime.now(UTC)
    try:
        period = resolve_period(now, since=since, start=start, end=end)
    except ValueError as error:
        raise UsageProblem(str(error)) from None
    paths = current_paths(prepare=False)  # read-only: never writes the home
    if paths.database.exists():
        db = open_reader(paths.database)
        try:
            data = build_report(db, period, period.previous(), now, _catalog())
        finally:
            db.conn.close()
    else:  # no history yet: an empty report still tells the reader the proxy saw nothing
        empty = PeriodRows([], [], [], [], [], [], [], [], [])
        data = assemble(empty, empty, period, period.previous(), now)
    if fmt == "text":
        from egress_watch.report.text import render_text

        tty = output is None and sys.stdout.isatty()
        width = shutil.get_terminal_size().columns if tty else 120
        content = render_text(data, color=tty, width=width)
    else:
        content = renderer(fmt)(data)
    t = data.totals
    summary = (
        f"{t.requests} requests, {t.secrets} secrets left ({t.new_secrets} new), "
        f"{t.stopped} stopped before leaving, "
        f"{t.open_critical} unacknowledged critical"
    )
    if output is None:
        click.echo(content, nl=False)
    else:
        write_private(output, content)
        click.echo(f"report written to {output}: {summary}", err=True)
    if notify:
        _notify(summary, output, urgent=t.open_critical > 0)


def _catalog() -> Catalog:
    """The catalog in force (built-in plus config.toml), for the training terms; a bad
    config.toml does not stop the weekly report: it says so and uses the built-in catalog."""
    from egress_watch.catalog.services import builtin_catalog, catalog_with
    from egress_watch.config.settings import load_settings
    from egress_watch.errors import ConfigError

    try:
        return catalog_with(load_settings(current_paths().config).services)
    except ConfigError as error:
        click.echo(f"note: {error}; training terms from the built-in catalog", err=True)
        return builtin_catalog()


def _notify(summary: str, output: Path | None, urgent: bool) -> None:
    """The weekly job's desktop notice: totals and where the report is, never a value."""
    from egress_watch.workstation.notify import Note, command_for, run_command

    where = f"\n{output}" if output is not None else ""
    argv = command_for(Note("egress-watch weekly exposure report", summary + where, urgent))
    if argv is None:
        click.echo("no desktop notifier found (notify-send / osascript)", err=True)
        return
    run_command(argv)

"""``egress-watch events``: the history, filtered, as text, JSON lines or CSV."""

from __future__ import annotations

import csv
import json
import sys
from datetime import UTC, datetime
from typing import Any

import click

from egress_watch.cli.options import UsageProblem, current_paths, home_option, translate_errors
from egress_watch.model import Category, Severity

CSV_COLUMNS = (
    "id", "ts", "service", "host", "method", "path", "action", "severity", "finding_count",
    "rules", "bytes_out", "model", "process_name", "process_pid", "process_repo",
    "uninspected_reason", "error", "jurisdictions", "region", "tool",
)  # fmt: skip


def _when(option: str, value: str | None) -> datetime | None:
    from egress_watch.store.queries import parse_when

    if value is None:
        return None
    try:
        return parse_when(value, datetime.now(UTC))
    except ValueError as error:
        raise UsageProblem(f"{option}: {error}") from None


def _jurisdiction(value: str | None) -> str | None:
    if value is None:
        return None
    if not (len(value) == 2 and value.isalpha()):
        raise UsageProblem(
            f"--jurisdiction: expected a two-letter country code such as CN, got {value!r}"
        )
    return value.upper()


def event_line(row: dict[str, Any]) -> str:
    """One human-readable line per event."""
    rules = sorted({f["rule"] for f in row["findings"]})
    found = f"{row['severity']}: {', '.join(rules)}" if rules else "clean"
    if row["uninspected_reason"]:
        found += f" (uninspected: {row['uninspected_reason']})"
    where = f"{row['method']} {row['host']}{row['path']}"
    tool = row.get("tool") or row.get("process_name")
    who = f" [{tool}]" if tool else ""
    when = row["ts"][:19]
    return f"{row['id']:>6}  {when}  {row['service']:<10} {row['action']:<6} {where}{who}  {found}"


def csv_row(row: dict[str, Any]) -> list[Any]:
    rules = " ".join(sorted({f["rule"] for f in row["findings"]}))
    values = {"rules": rules, "jurisdictions": " ".join(row.get("jurisdictions") or [])}
    return [values.get(column, row.get(column)) for column in CSV_COLUMNS]


@click.command()
@home_option
@click.option("--since", metavar="WHEN", help="Only events after this: 7d, 12h, 30m or a date.")
@click.option("--until", metavar="WHEN", help="Only events before this (same forms as --since).")
@click.option("--severity", type=click.Choice([s.label for s in Severity]),
              help="Only events with a finding at least this severe.")  # fmt: skip
@click.option("--category", type=click.Choice([c.value for c in Category]),
              help="Only events with a finding of this category.")  # fmt: skip
@click.option("--service", metavar="ID", help="Only events to this service (see `services`).")
@click.option("--process", metavar="NAME", help="Only events sent by this process name.")
@click.option("--jurisdiction", metavar="CODE", help="Only events to services whose operator or "
              "parent is in this country (ISO code, e.g. CN; see `services`).")  # fmt: skip
@click.option("--repo", metavar="PATH", help="Only events from, or matching code of, this repo.")
@click.option("--limit", type=click.IntRange(1), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per event, per line.")
@click.option("--csv", "as_csv", is_flag=True, help="CSV with a header row, one row per event.")
@translate_errors
def events(
    since: str | None,
    until: str | None,
    severity: str | None,
    category: str | None,
    service: str | None,
    process: str | None,
    jurisdiction: str | None,
    repo: str | None,
    limit: int,
    as_json: bool,
    as_csv: bool,
) -> None:
    """List recorded events, newest first.

    Example: egress-watch events --since 7d --severity high
    """
    from egress_watch.store.database import open_reader
    from egress_watch.store.queries import EventFilter, list_events

    if as_json and as_csv:
        raise UsageProblem("choose one of --json and --csv")
    query = EventFilter(
        since=_when("--since", since),
        until=_when("--until", until),
        min_severity=Severity.parse(severity) if severity else None,
        category=Category(category) if category else None,
        service=service,
        process=process,
        repo=repo,
        limit=limit,
        jurisdiction=_jurisdiction(jurisdiction),
    )
    paths = current_paths(prepare=False)  # read-only: never writes the home
    if not paths.database.exists():
        click.echo("no events recorded yet", err=True)
        return
    db = open_reader(paths.database)
    try:
        rows = list_events(db, query)
    finally:
        db.conn.close()
    if as_csv:
        writer = csv.writer(sys.stdout)
        writer.writerow(CSV_COLUMNS)
        writer.writerows(csv_row(row) for row in rows)
        return
    for row in rows:
        click.echo(json.dumps(row, ensure_ascii=False) if as_json else event_line(row))

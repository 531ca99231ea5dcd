"""``egress-watch demo``: send a fake key through the running proxy and show the event."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click

from egress_watch.cli.options import (
    EXIT_ERROR,
    UsageProblem,
    current_paths,
    home_option,
    translate_errors,
)


@click.command()
@home_option
@translate_errors
def demo() -> None:
    """Send a fake AWS key through the running proxy to its local canary and show the event.

    Nothing leaves the machine. The event is marked as a test (service egress-watch-demo):
    it shows in `egress-watch events` and the dashboard, and reports leave it out.
    """
    from egress_watch.capture import daemon
    from egress_watch.cli.client_setup import proxy_url
    from egress_watch.workstation.demo import DEMO_SERVICE, send_demo

    paths = current_paths()
    if not daemon.status(paths)["running"]:
        raise UsageProblem(
            "egress-watch is not running. Start it first: `egress-watch start` "
            "(or `egress-watch install` to run it at login), then `egress-watch demo`"
        )
    before = _last_demo_id(paths.database)
    try:
        result = send_demo(proxy_url(paths), paths.ca_cert)
    except OSError as error:
        click.echo(f"the demo request did not get through the proxy: {error}", err=True)
        raise SystemExit(EXIT_ERROR) from None
    event = None
    deadline = time.monotonic() + 10
    while event is None and time.monotonic() < deadline:  # committed before the answer, but
        event = _demo_event_after(paths.database, before)  # a spooled write may lag a little
        if event is None:
            time.sleep(0.2)
    if event is None:
        click.echo("the proxy answered but recorded no demo event (see `egress-watch doctor`)",
                   err=True)  # fmt: skip
        raise SystemExit(EXIT_ERROR)
    click.echo(
        f"sent a fake AWS key through the proxy (answer: HTTP {result.status}); recorded event "
        f"{event['id']}: {event['action']}, {event['finding_count']} finding(s), "
        f"{event['severity'] or 'clean'}, service {DEMO_SERVICE} (a test event: reports leave "
        "it out)"
    )
    click.echo("next: egress-watch events   (or egress-watch dashboard)")
    if result.status >= 400:
        click.echo(f"the proxy stopped it, as your policy says: {_message(result.answer)}")


_LAST = "SELECT id, action, finding_count, severity FROM events WHERE service = ? AND id > ? "


def _last_demo_id(database: Path) -> int:
    event = _demo_event_after(database, 0)
    return int(event["id"]) if event else 0


def _demo_event_after(database: Path, after: int) -> dict[str, Any] | None:
    """The newest demo event with an id above ``after``, if any."""
    from egress_watch.store.database import open_reader
    from egress_watch.workstation.demo import DEMO_SERVICE

    if not database.exists():
        return None
    db = open_reader(database)
    try:
        rows = list(db.query(_LAST + "ORDER BY id DESC LIMIT 1", [DEMO_SERVICE, after]))
    finally:
        db.conn.close()
    return dict(rows[0]) if rows else None


def _message(answer: str) -> str:
    try:
        return str(json.loads(answer)["error"]["message"])[:300]
    except (ValueError, KeyError, TypeError):
        return answer[:300]

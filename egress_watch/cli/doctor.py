"""``egress-watch doctor``: end-to-end self-test with a canary; a fix for each failed check."""

from __future__ import annotations

import json
import os
import sys

import click

from egress_watch.cli.options import EXIT_ERROR, current_paths, home_option, translate_errors


@click.command()
@home_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@translate_errors
def doctor(as_json: bool) -> None:
    """Check daemon, port, CA, trust and proxy variables; send a canary through the proxy.

    Exit code 1 if any check fails; each failure prints its fix.
    """
    from egress_watch.capture import daemon
    from egress_watch.workstation import doctor as checks

    paths = current_paths()
    results = checks.run_checks(paths, daemon.status(paths), os.environ)
    if as_json:
        click.echo(json.dumps(checks.summary(results)))
    else:
        click.echo(checks.render_text(results), nl=False)
    if not all(c.ok for c in results):
        sys.exit(EXIT_ERROR)

"""``egress-watch services``: the service catalog in force, with each service's facts."""

from __future__ import annotations

import json

import click

from egress_watch.cli.options import current_paths, home_option, translate_errors
from egress_watch.config.settings import load_settings


@click.command()
@home_option
@click.option("--json", "as_json", is_flag=True, help="Print the catalog as JSON.")
@click.option("--jurisdiction", metavar="CODE", help="Only services whose operator or parent is "
              "in this country (ISO code, e.g. CN).")  # fmt: skip
@translate_errors
def services(as_json: bool, jurisdiction: str | None) -> None:
    """List the AI services whose traffic is decrypted and inspected (built-in + config.toml),
    with who operates each one, where, and on what training terms."""
    from egress_watch.catalog.services import catalog_with
    from egress_watch.cli.services_view import service_json, service_lines

    catalog = catalog_with(load_settings(current_paths().config).services)
    shown = [
        s
        for s in catalog.services
        if jurisdiction is None
        or any(jurisdiction.upper() in f.codes for f in (s.facts, *(x.facts for x in s.sites)))
    ]
    if as_json:
        click.echo(json.dumps([service_json(s) for s in shown], indent=2, ensure_ascii=False))
        return
    for service in shown:
        click.echo("\n".join(service_lines(service)))

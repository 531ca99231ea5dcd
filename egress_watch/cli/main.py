"""The ``egress-watch`` group: global options, the default action, and every command registered.

Each command lives in its own module and takes what it shares with the others from
``egress_watch.cli.options``; none imports this module.
"""

from __future__ import annotations

import click

from egress_watch import __version__
from egress_watch.cli.db import db
from egress_watch.cli.demo import demo
from egress_watch.cli.doctor import doctor
from egress_watch.cli.env import env
from egress_watch.cli.events import events
from egress_watch.cli.export import export
from egress_watch.cli.index import index
from egress_watch.cli.install import install, uninstall
from egress_watch.cli.options import CONTEXT_SETTINGS, home_option
from egress_watch.cli.proxy import dashboard, start, status, stop
from egress_watch.cli.report import report
from egress_watch.cli.scan import scan
from egress_watch.cli.services import services
from egress_watch.cli.triage import ack, allow
from egress_watch.cli.trust import trust, untrust


@click.group(invoke_without_command=True, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, prog_name="egress-watch")
@home_option
@click.pass_context
def cli(ctx: click.Context) -> None:
    """See, record and stop what your AI coding tools send off this machine.

    With no command: start the proxy in the background if it is not running, then open the
    dashboard.
    """
    if ctx.invoked_subcommand is None:
        ctx.invoke(start, foreground=False, quiet_if_running=True)
        ctx.invoke(dashboard)


COMMANDS = (start, stop, status, dashboard, scan, services, events, db, install, uninstall,
            trust, untrust, env, doctor, demo, ack, allow, report, export, index)  # fmt: skip
for command in COMMANDS:
    cli.add_command(command)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="egress-watch")

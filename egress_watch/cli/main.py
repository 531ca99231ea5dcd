"""The ``egress-watch`` group: global options, the default action, and every command registered.

Each command lives in its own module and takes what it shares with the others from
``egress_watch.cli.options``; none imports this module.
"""

from __future__ import annotations

import importlib

import click

from egress_watch import __version__
from egress_watch.cli.options import CONTEXT_SETTINGS, home_option

COMMANDS = {
    "ack": "triage", "allow": "triage", "dashboard": "proxy", "db": "db", "demo": "demo",
    "doctor": "doctor", "env": "env", "events": "events", "export": "export", "index": "index",
    "install": "install", "report": "report", "scan": "scan", "services": "services",
    "start": "proxy", "status": "proxy", "stop": "proxy", "trust": "trust",
    "uninstall": "install", "untrust": "trust",
}  # fmt: skip
"""Each command and the module of ``egress_watch.cli`` defining it (a function of that name)."""


class CommandsOnDemand(click.Group):
    """A group that imports a command's module when that command runs: ``index add`` does not
    pay for the proxy's, the CA's or the settings' imports, nor ``status`` for the index's."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            module = importlib.import_module(f"egress_watch.cli.{COMMANDS[cmd_name]}")
            command = getattr(module, cmd_name)
            assert isinstance(command, click.Command)
            self.add_command(command, cmd_name)
        return self.commands.get(cmd_name)


@click.group(cls=CommandsOnDemand, invoke_without_command=True, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, prog_name="egress-watch")
@home_option
@click.pass_context
def cli(ctx: click.Context) -> None:
    """See, record and stop what your AI coding tools send off this machine.

    With no command: start the proxy in the background if it is not running, then open the
    dashboard.
    """
    if ctx.invoked_subcommand is None:
        from egress_watch.cli.proxy import dashboard, start

        ctx.invoke(start, foreground=False, quiet_if_running=True)
        ctx.invoke(dashboard)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="egress-watch")

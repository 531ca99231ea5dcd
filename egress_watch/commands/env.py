"""``egress-watch env``: the proxy and CA variables, for ``eval`` or a shell profile."""

from __future__ import annotations

import os

import click

from egress_watch.cli import current_paths, home_option, translate_errors
from egress_watch.commands.common import proxy_env
from egress_watch.envvars import SHELLS, render_exports, render_unset


def default_shell() -> str:
    """The login shell when we know how to speak it, else bash syntax."""
    name = os.path.basename(os.environ.get("SHELL", ""))
    return name if name in SHELLS else "bash"


@click.command()
@home_option
@click.option("--shell", type=click.Choice(SHELLS), help="Syntax to print (default: $SHELL).")
@click.option("--unset", is_flag=True, help="Print the commands that remove the variables.")
@translate_errors
def env(shell: str | None, unset: bool) -> None:
    """Print proxy and CA variables for your shell.

    Example: eval "$(egress-watch env)"   (fish: egress-watch env --shell fish | source)
    """
    shell = shell or default_shell()
    if unset:
        click.echo(render_unset(shell), nl=False)
        return
    paths = current_paths()
    variables = proxy_env(paths)
    click.echo(render_exports(variables, shell), nl=False)
    if not os.path.exists(variables.bundle):
        click.echo(
            f"note: {variables.bundle} does not exist yet; run `egress-watch trust` "
            "(or `egress-watch trust --bundle-only`)",
            err=True,
        )

"""``egress-watch env``: the proxy and CA variables, for ``eval`` or a shell profile."""

from __future__ import annotations

import os
from pathlib import Path

import click

from egress_watch.cli.client_setup import proxy_env
from egress_watch.cli.options import current_paths, home_option, translate_errors
from egress_watch.paths import HomePaths
from egress_watch.workstation.envvars import SHELLS, render_exports, render_unset


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
    _ensure_bundle(paths, Path(variables.bundle))
    click.echo(render_exports(variables, shell), nl=False)


def _ensure_bundle(paths: HomePaths, bundle: Path) -> None:
    """Write the combined bundle (system CAs + ours, no root needed) when it is missing or older
    than our CA, so the variables never point at a missing file; or fail with the fix.

    Exiting non-zero with nothing on stdout leaves a shell's ``eval "$(…)"`` unchanged, so a
    failure never breaks the TLS of the shell it runs in.
    """
    from egress_watch.cli.trust import ca_cert_ready
    from egress_watch.workstation.trust import TrustError, write_bundle

    try:
        cert = ca_cert_ready(paths)
        if bundle.is_file() and bundle.stat().st_mtime >= cert.stat().st_mtime:
            return
        write_bundle(paths, cert)
    except (TrustError, OSError) as error:
        raise click.ClickException(
            f"cannot write the CA bundle {bundle} ({error}); no variables were printed. "
            "Fix: run `egress-watch trust --bundle-only` and read its message, or set "
            "SSL_CERT_FILE to your system's CA bundle and run `egress-watch env` again"
        ) from None
    click.echo(f"wrote {bundle} (system CAs + egress-watch CA)", err=True)

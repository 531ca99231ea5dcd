"""``egress-watch install`` / ``uninstall``: the per-user service and the weekly report job."""

from __future__ import annotations

import click

from egress_watch.cli.options import current_paths, home_option, translate_errors
from egress_watch.workstation.install import (
    InstallError,
    default_layout,
    remove_files,
    run_commands,
    service_command,
    write_files,
)


@click.command()
@home_option
@click.option(
    "--no-enable",
    is_flag=True,
    help="Only write the files; enable them later (e.g. from a login session).",
)
@translate_errors
def install(no_enable: bool) -> None:
    """Install the per-user service (systemd user unit / launchd agent) and weekly report.

    The daemon then starts at login and restarts on failure; the report job writes
    <home>/reports/weekly.md every week.
    """
    paths = current_paths()
    layout = default_layout()
    for path in write_files(paths, layout, service_command()):
        click.echo(f"wrote {path}", err=True)
    commands = layout.enable_commands()
    steps = "\n".join("  " + " ".join(c) for c in commands)
    if no_enable:
        click.echo(f"not enabled yet; to start it now and at every login run:\n{steps}", err=True)
        return
    try:
        run_commands(commands)
    except InstallError as error:
        raise InstallError(
            f"the service files are in place but could not be enabled ({error}).\n"
            f"From a login session, run:\n{steps}"
        ) from None
    click.echo("enabled: egress-watch now starts at login (`egress-watch status` to check)",
               err=True)  # fmt: skip


@click.command()
@home_option
@click.option("--files-only", is_flag=True, help="Remove the files without stopping the service.")
@translate_errors
def uninstall(files_only: bool) -> None:
    """Stop and remove the per-user service and the weekly report job that `install` added."""
    paths = current_paths()
    layout = default_layout()
    problems = [] if files_only else run_commands(layout.disable_commands(), tolerate_failure=True)
    for path in remove_files(paths, layout):
        click.echo(f"removed {path}", err=True)
    if not files_only and layout.platform != "darwin":
        problems += run_commands([["systemctl", "--user", "daemon-reload"]], tolerate_failure=True)
    for problem in problems:
        click.echo(f"note: {problem}", err=True)

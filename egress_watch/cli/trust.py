"""``egress-watch trust`` / ``untrust``: our CA in the system store, a bundle, VS Code settings."""

from __future__ import annotations

import json
from pathlib import Path

import click

from egress_watch.catalog.services import catalog_with
from egress_watch.cli.client_setup import proxy_url
from egress_watch.cli.options import current_paths, home_option, translate_errors
from egress_watch.config.settings import load_settings
from egress_watch.paths import HomePaths
from egress_watch.workstation.ca import (
    CaFiles,
    broadened,
    ca_domains,
    cert_fingerprint,
    ensure_ca,
    load_ca_cert,
)
from egress_watch.workstation.trust import (
    TrustError,
    bundle_path,
    current_platform,
    is_root,
    load_record,
    merge_vscode_settings,
    run_plan,
    save_record,
    system_trust_plan,
    system_untrust_plan,
    trust_record,
    vscode_settings,
    write_bundle,
)


def _confirm(plan_text: str, yes: bool) -> None:
    """Show the sudo commands and ask first, unless --yes."""
    if yes:
        return
    click.echo(f"These commands need administrator rights (sudo):\n{plan_text}", err=True)
    if not click.confirm("Run them now?", default=False, err=True):
        raise TrustError("system store left unchanged (re-run with --bundle-only to skip it)")


def ca_cert_ready(paths: HomePaths) -> Path:
    """The CA certificate, created now if the daemon never ran."""
    catalog = catalog_with(load_settings(paths.config).services)
    reason = ensure_ca(paths.confdir, ca_domains(catalog))
    if reason is not None:
        click.echo(f"created a CA in {paths.confdir} ({reason})", err=True)
    subtrees = {subtree for _, subtree in broadened(catalog)}
    wide = sorted(s for s in subtrees if not any(s.endswith("." + o) for o in subtrees))
    if wide:  # only config.toml entries can hold a wildcard inside a name
        click.echo(f"note: wildcards inside [[services]] hosts of config.toml widen the CA to "
                   f"all of {', '.join(wide)}; list the names instead", err=True)  # fmt: skip
    return paths.ca_cert


@click.command()
@home_option
@click.option(
    "--bundle-only",
    is_flag=True,
    help="Only write the combined bundle; leave the system store alone (no sudo).",
)
@click.option("--yes", "-y", is_flag=True, help="Do not ask before running sudo.")
@click.option("--vscode", is_flag=True, help="Print VS Code / Cursor proxy settings.")
@click.option(
    "--vscode-settings",
    "vscode_settings_file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Write those settings into this settings.json.",
)
@translate_errors
def trust(bundle_only: bool, yes: bool, vscode: bool, vscode_settings_file: Path | None) -> None:
    """Trust egress-watch's CA: system store, combined bundle, optionally VS Code.

    Example: egress-watch trust && eval "$(egress-watch env)"
    """
    paths = current_paths()
    cert = ca_cert_ready(paths)
    bundle = write_bundle(paths, cert)
    click.echo(f"wrote {bundle} (system CAs + egress-watch CA)", err=True)
    record = load_record(paths)
    if not bundle_only:
        plan = system_trust_plan(current_platform(), cert, is_root())
        if plan.sudo:
            _confirm(plan.describe(), yes)
        run_plan(plan)
        record["system"] = True
        click.echo("added the CA to the system trust store", err=True)
    url = proxy_url(paths)
    if vscode:
        click.echo(json.dumps(vscode_settings(url), indent=2))
    if vscode_settings_file is not None:
        merge_vscode_settings(vscode_settings_file, url)
        record["vscode_settings"] = str(vscode_settings_file)
        click.echo(f"updated {vscode_settings_file}", err=True)
    ca = load_ca_cert(CaFiles(paths.confdir))
    record.update(bundle=str(bundle), ca_sha256=cert_fingerprint(ca) if ca else None,
                  platform=current_platform())  # fmt: skip
    save_record(paths, record)
    click.echo('next: eval "$(egress-watch env)"  then  egress-watch doctor', err=True)


@click.command()
@home_option
@click.option("--yes", "-y", is_flag=True, help="Do not ask before running sudo.")
@translate_errors
def untrust(yes: bool) -> None:
    """Undo `trust`: remove the CA from the system store, the bundle and VS Code settings."""
    paths = current_paths()
    record = load_record(paths)
    if record.get("system"):
        plan = system_untrust_plan(current_platform(), paths.ca_cert, is_root())
        if plan.sudo:
            _confirm(plan.describe(), yes)
        run_plan(plan)
        click.echo("removed the CA from the system trust store", err=True)
    if settings_file := record.get("vscode_settings"):
        _remove_vscode_keys(Path(settings_file))
    bundle_path(paths).unlink(missing_ok=True)
    trust_record(paths).unlink(missing_ok=True)
    click.echo(f'removed {bundle_path(paths)}; run: eval "$(egress-watch env --unset)"', err=True)


def _remove_vscode_keys(path: Path) -> None:
    """Take our keys out of a settings.json we wrote to; leave anything else as it is."""
    try:
        current = json.loads(path.read_text())
    except (OSError, ValueError):
        click.echo(f"left {path} unchanged (unreadable); remove http.proxy by hand", err=True)
        return
    for key in vscode_settings(""):
        current.pop(key, None)
    path.write_text(json.dumps(current, indent=4) + "\n")
    click.echo(f"removed the proxy settings from {path}", err=True)

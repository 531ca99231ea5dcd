"""``egress-watch start``, ``stop``, ``status`` and ``dashboard``: the proxy in the background
(or this terminal), its counters, and the dashboard over its history."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from egress_watch.capture.listen import check_listen_host, remote_warning
from egress_watch.cli.options import (
    EXIT_NOT_RUNNING,
    UsageProblem,
    current_paths,
    home_option,
    translate_errors,
)
from egress_watch.config.settings import Settings, load_settings
from egress_watch.model import Mode
from egress_watch.paths import HomePaths


@click.command()
@home_option
@click.option(
    "--foreground", is_flag=True, help="Run in this terminal instead of in the background."
)
@click.option("--listen-host", help="Address to listen on (default 127.0.0.1).")
@click.option(
    "--allow-remote",
    is_flag=True,
    default=None,
    help="Allow a --listen-host beyond loopback (other machines could use the proxy).",
)
@click.option(
    "--listen-port", type=click.IntRange(1, 65535), help="Port to listen on (default 8080)."
)
@click.option(
    "--mode",
    type=click.Choice([m.value for m in Mode]),
    help="monitor records; redact replaces findings in flight; block stops the request.",
)
@click.option("--upstream-proxy", metavar="URL", help="Chain to this HTTP(S) proxy.")
@click.option(
    "--set",
    "mitm_options",
    multiple=True,
    metavar="OPTION=VALUE",
    help="Pass an option to mitmproxy, e.g. --set ssl_insecure=true. Repeatable.",
)
@click.option("--quiet-if-running", is_flag=True, hidden=True)
@translate_errors
def start(
    foreground: bool,
    listen_host: str | None = None,
    listen_port: int | None = None,
    mode: str | None = None,
    upstream_proxy: str | None = None,
    mitm_options: tuple[str, ...] = (),
    quiet_if_running: bool = False,
    allow_remote: bool | None = None,
) -> None:
    """Start the intercepting proxy.

    Example: egress-watch start --listen-port 8080 --mode monitor
    """
    from egress_watch.capture import daemon

    paths = current_paths()
    settings = _settings_with_flags(paths, listen_host, listen_port, mode, upstream_proxy)
    if allow_remote:
        settings = settings.replace(allow_remote=True)
    for spec in mitm_options:
        if "=" not in spec:
            raise UsageProblem(f"--set expects OPTION=VALUE, got {spec!r}")
        if spec.split("=", 1)[0].strip() in ("listen_host", "listen_port"):
            raise UsageProblem(f"--set {spec}: use --listen-host / --listen-port instead")
    check_listen_host(settings.listen_host, settings.allow_remote)
    warning = remote_warning(settings.listen_host, settings.listen_port)
    if warning and not foreground:  # in the foreground the daemon says it itself
        click.echo(warning, err=True)
    if foreground:
        daemon.run_foreground(paths, settings, mitm_options, Mode(mode) if mode else None)
        return
    if quiet_if_running and daemon.read_pid(paths) is not None:
        return
    argv = _flags_to_argv(listen_host, listen_port, mode, upstream_proxy, mitm_options)
    argv += ["--allow-remote"] if allow_remote else []
    pid = daemon.start_background(paths, settings, argv)
    click.echo(
        f"egress-watch started (pid {pid}) on {settings.listen_host}:{settings.listen_port}; "
        f"log: {paths.log}",
        err=True,
    )


def _settings_with_flags(
    paths: HomePaths,
    listen_host: str | None,
    listen_port: int | None,
    mode: str | None,
    upstream_proxy: str | None,
) -> Settings:
    """Config file values, overridden by the flags the user actually typed."""
    settings = load_settings(paths.config)
    changes: dict[str, Any] = {}
    if listen_host is not None:
        changes["listen_host"] = listen_host
    if listen_port is not None:
        changes["listen_port"] = listen_port
    if mode is not None:
        changes["mode"] = Mode(mode)
    if upstream_proxy is not None:
        changes["upstream_proxy"] = upstream_proxy
    return settings.replace(**changes) if changes else settings


def _flags_to_argv(
    listen_host: str | None,
    listen_port: int | None,
    mode: str | None,
    upstream_proxy: str | None,
    mitm_options: tuple[str, ...],
) -> list[str]:
    argv: list[str] = []
    for flag, value in (
        ("--listen-host", listen_host),
        ("--listen-port", listen_port),
        ("--mode", mode),
        ("--upstream-proxy", upstream_proxy),
    ):
        if value is not None:
            argv += [flag, str(value)]
    for spec in mitm_options:
        argv += ["--set", spec]
    return argv


@click.command()
@home_option
@translate_errors
def stop() -> None:
    """Stop the background proxy."""
    from egress_watch.capture import daemon

    pid = daemon.stop(current_paths(prepare=False))
    click.echo(
        "egress-watch is not running" if pid is None else f"stopped egress-watch (pid {pid})",
        err=True,
    )


@click.command()
@home_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@translate_errors
def status(as_json: bool) -> None:
    """Show whether the proxy runs, where, and its counters. Exit code 3 when not running."""
    from egress_watch.capture import daemon
    from egress_watch.workstation.history_health import history_line

    info = daemon.status(current_paths(prepare=False))
    if as_json:
        click.echo(json.dumps(info))
    elif info["running"]:
        click.echo(
            f"running  pid {info['pid']}  {info['listen_host']}:{info['listen_port']}  "
            f"mode {info['mode']}  up {info['uptime_s']:.0f}s\n"
            f"requests {info['requests']}  events {info['events']}  redacted {info['redacted']}  "
            f"blocked {info['blocked']}  "
            f"uninspected {info['uninspected']}  errors {info['errors']}  "
            f"restore values held {info.get('restore_held', 0)}"
            + (f"  failed {info['failed']}" if info.get("failed") else "")
        )
        problem = history_line(info)
        if problem:
            click.echo(problem)
    else:
        click.echo("not running (start it with `egress-watch start`)")
    if not info["running"]:
        sys.exit(EXIT_NOT_RUNNING)


@click.command()
@home_option
@translate_errors
def dashboard() -> None:
    """Open the terminal dashboard over the history."""
    from egress_watch.capture import daemon
    from egress_watch_tui.app import make_app

    paths = current_paths()
    start = [sys.executable, "-m", "egress_watch", "--home", str(paths.home), "start"]
    make_app(paths.database, lambda: daemon.status(paths), start_command=start).run()

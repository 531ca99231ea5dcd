"""The ``egress-watch`` command line: a thin edge that turns errors into messages and exit codes."""

from __future__ import annotations

import bisect
import functools
import json
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

from egress_watch import __version__
from egress_watch.capture.listen import check_listen_host, remote_warning
from egress_watch.config.settings import Settings, load_settings
from egress_watch.errors import ConfigError, EgressWatchError
from egress_watch.model import Mode
from egress_watch.paths import HOME_ENV, HomePaths, resolve_home
from egress_watch.shapes import finding_json
from egress_watch.workstation.home import prepare_home

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_NOT_RUNNING = 3


CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"]}


class UsageProblem(click.ClickException):
    """Bad input from the user (config, arguments): exit code 2, like click's usage errors."""

    exit_code = EXIT_USAGE


def _remember_home(ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value:
        ctx.meta["egress_watch.home"] = value
    return value


def home_option[F: Callable[..., Any]](func: F) -> F:
    """``--home DIR`` on the group and on every command (the innermost one given wins)."""
    return click.option(
        "--home",
        type=click.Path(file_okay=False, path_type=str),
        callback=_remember_home,
        expose_value=False,
        is_eager=True,
        help=f"Data home (config, history, CA, keys). Default: ${HOME_ENV}, else the user "
        "data directory.",
    )(func)


def current_paths(prepare: bool = True) -> HomePaths:
    """The data home for this invocation, created on first use."""
    paths = HomePaths(resolve_home(click.get_current_context().meta.get("egress_watch.home")))
    if prepare:
        prepare_home(paths)
    return paths


def translate_errors[F: Callable[..., Any]](func: F) -> F:
    """Turn our domain errors into click errors with the right exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ConfigError as error:
            raise UsageProblem(str(error)) from None
        except EgressWatchError as error:
            raise click.ClickException(str(error)) from None

    return wrapper  # type: ignore[return-value]


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


@cli.command()
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


@cli.command()
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


@cli.command()
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


@cli.command()
@home_option
@translate_errors
def dashboard() -> None:
    """Open the terminal dashboard over the history."""
    from egress_watch.capture import daemon
    from egress_watch_tui.app import make_app

    paths = current_paths()
    start = [sys.executable, "-m", "egress_watch", "--home", str(paths.home), "start"]
    make_app(paths.database, lambda: daemon.status(paths), start_command=start).run()


def line_numbers(text: str) -> Callable[[int], int]:
    """The 1-based line of an offset in ``text``, by binary search over one index of line
    breaks: counting them per finding made a megabyte with 50,000 findings cost seconds."""
    breaks = [m.start() for m in re.finditer("\n", text)]
    return lambda offset: bisect.bisect_left(breaks, offset) + 1


def _scan_inputs(files: tuple[str, ...]) -> Iterator[tuple[str, str]]:
    for name in files or ("-",):
        if name == "-":
            yield "-", sys.stdin.read()
            continue
        try:
            yield name, Path(name).read_text(encoding="utf-8", errors="replace")
        except OSError as error:
            raise UsageProblem(f"{name}: cannot read: {error.strerror}") from None


@cli.command()
@home_option
@click.argument("files", nargs=-1, metavar="[FILE…|-]")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per input, per line.")
@click.option(
    "--har",
    "har_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Read saved traffic (HAR 1.2 or a mitmproxy flow file) and inspect every request.",
)
@click.option(
    "--segments", is_flag=True, help="With --har: also print each extracted text, findings masked."
)
@translate_errors
def scan(files: tuple[str, ...], as_json: bool, har_file: Path | None, segments: bool) -> None:
    """Classify text offline with the proxy's engine. Exit 1 if anything is found.

    Example: git diff | egress-watch scan -

    Example: egress-watch scan --har session.har --json --segments
    """
    from egress_watch.classify.engine import Engine
    from egress_watch.workstation.home import load_hmac_key

    config = current_paths().config
    engine = Engine.configured(load_hmac_key(current_paths()), load_settings(config), config.parent)
    if har_file is not None:
        if files:
            raise UsageProblem("give either --har FILE or text files, not both")
        from egress_watch.cli.scan_har import scan_har

        settings = load_settings(current_paths().config)
        sys.exit(
            EXIT_FINDINGS if scan_har(har_file, engine, settings, as_json, segments) else EXIT_OK
        )
    if segments:
        raise UsageProblem("--segments only applies to --har")
    found_any = False
    for name, text in _scan_inputs(files):
        findings = engine.classify_text(text, path=None if name == "-" else name)
        found_any = found_any or bool(findings)
        if as_json:
            click.echo(json.dumps({"path": name, "findings": [finding_json(f) for f in findings]}))
        else:
            line_of = line_numbers(text)
            for f in findings:
                line = line_of(f.start)
                what = f"{f.severity.label} {f.category.value}/{f.rule}"
                click.echo(f"{name}:{line}: {what} {f.masked}  {f.reason}")
    sys.exit(EXIT_FINDINGS if found_any else EXIT_OK)


@cli.command()
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


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="egress-watch")


def _register_commands() -> None:
    """Commands kept in their own modules (imported here, after cli is defined)."""
    from egress_watch.cli.db import db
    from egress_watch.cli.events import events

    cli.add_command(events)
    cli.add_command(db)

    from egress_watch.cli.doctor import doctor
    from egress_watch.cli.env import env
    from egress_watch.cli.install import install, uninstall
    from egress_watch.cli.trust import trust, untrust

    cli.add_command(install)
    cli.add_command(uninstall)
    cli.add_command(trust)
    cli.add_command(untrust)
    cli.add_command(env)
    cli.add_command(doctor)

    from egress_watch.cli.demo import demo

    cli.add_command(demo)

    from egress_watch.cli.triage import ack, allow

    cli.add_command(ack)
    cli.add_command(allow)

    from egress_watch.cli.report import report

    cli.add_command(report)

    from egress_watch.cli.export import export

    cli.add_command(export)

    from egress_watch.cli.index import index

    cli.add_command(index)


_register_commands()

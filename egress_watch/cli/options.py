"""What every command shares: ``--home``, the data home of this invocation, exit codes, and
domain errors turned into click errors. Commands import this module, never the group."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click

from egress_watch.errors import ConfigError, EgressWatchError
from egress_watch.paths import HOME_ENV, HomePaths, resolve_home
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

"""``egress-watch index``: register your repositories so their code is recognised when it leaves."""

from __future__ import annotations

import gc
import json
import sqlite3
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from egress_watch.cli.options import current_paths, home_option, translate_errors
from egress_watch.errors import EgressWatchError

if TYPE_CHECKING:  # the index's modules are imported by the commands that use them: every
    # other command (``--help``, ``status``, the daemon's start) starts without them
    from egress_watch.classify.proprietary.background import Background
    from egress_watch.classify.proprietary.index import Progress
    from egress_watch.classify.proprietary.repos import IndexStats


@click.group()
def index() -> None:
    """The code index: repositories whose code is flagged as proprietary when it is sent.

    Holds only hashes of token k-grams (no code), in code-index.db beside the history (0600).
    """


@contextmanager
def _opened(create: bool = False, reset: bool = False) -> Iterator[sqlite3.Connection]:
    """The index of this data home, closed afterwards; index errors become CLI errors."""
    from egress_watch.classify.proprietary.index import CodeIndexError, index_path, open_index

    try:
        conn = open_index(index_path(current_paths().home), create=create, reset=reset)
    except CodeIndexError as error:
        raise EgressWatchError(str(error)) from None
    try:
        yield conn
    except CodeIndexError as error:
        raise EgressWatchError(str(error)) from None
    finally:
        conn.close()


@contextmanager
def _progress(label: str) -> Iterator[Progress]:
    """A progress bar on stderr showing files done and MB/s."""
    started = time.perf_counter()
    with click.progressbar(
        length=1,
        label=label,
        file=sys.stderr,
        item_show_func=lambda item: item,
    ) as bar:

        def update(done: int, total: int, read: int) -> None:
            bar.length = max(total, 1)
            rate = read / 1e6 / max(time.perf_counter() - started, 1e-6)
            bar.update(done - bar.pos, f"{done}/{total} files, {rate:.1f} MB/s")

        yield update


@index.command("add")
@home_option
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--name", help="Name shown in findings (default: the folder's name).")
@translate_errors
def add(path: Path, name: str | None) -> None:
    """Index a repository (git-tracked source files; vendored, generated, lock files skipped).

    Adding a name again refreshes it: only files whose content changed are read. The MB/s
    printed is the source read over the whole add as you waited for it (opening the index,
    loading the public-code background, listing, fingerprinting, storing), without a
    one-time background build, which is timed on its own line.
    """
    from egress_watch.classify.proprietary.repos import add_repo

    started = time.perf_counter()
    name = name or path.resolve().name
    with _opened(create=True) as conn:
        setup = _build_background_if_needed(conn)
        with _progress(f"indexing {name}") as progress:
            stats = add_repo(conn, path, name, progress)
    click.echo(add_summary(name, stats, time.perf_counter() - started - setup), err=True)
    gc.freeze()  # the process ends: no last collections over what the add allocated


def add_summary(name: str, stats: IndexStats, seconds: float) -> str:
    """What ``index add`` did and how fast, for the user: bytes read over ``seconds``."""
    rate = stats.bytes_read / 1e6 / max(seconds, 1e-6)
    return (
        f"{name}: {stats.files_seen} files, {stats.files_read} read "
        f"({stats.bytes_read / 1e6:.1f} MB, {rate:.1f} MB/s over the add's {seconds:.2f} s), "
        f"{stats.files_removed} removed"
    )


@index.command()
@home_option
@click.argument("paths", nargs=-1, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--site-packages",
    "site_packages",
    is_flag=True,
    help="Also use the packages of egress-watch's own Python environment.",
)
@click.option(
    "--no-stdlib",
    is_flag=True,
    help="Leave out the default sources (the stdlib and the public code installed here).",
)
@click.option(
    "--installed",
    is_flag=True,
    help="Use the Go, npm and JDK sources installed here (part of the default).",
)
@translate_errors
def background(
    paths: tuple[Path, ...], site_packages: bool, no_stdlib: bool, installed: bool
) -> None:
    """Rebuild the public-code background from the installed public code and PATHS.

    Token sequences found in two or more files of public code are idioms, not your code:
    they are never indexed, so they never alert. The default reads the Python stdlib, the
    Go distribution's and Debian's Go module sources, global npm packages and the JDK's
    src.zip, whichever are installed; add the folders of published code you work with
    (site-packages, node_modules, a Go module cache) to cut false alarms further.
    """
    from egress_watch.classify.proprietary.background import build_background
    from egress_watch.classify.proprietary.index import needs_reindex
    from egress_watch.classify.proprietary.repos import rebuild
    from egress_watch.classify.proprietary.sources import (
        default_background,
        environment_packages,
        installed_public_code,
    )

    roots = [] if no_stdlib else default_background()
    roots += [environment_packages()] if site_packages else []
    roots += installed_public_code() if installed else []
    roots += list(paths)
    with _opened(create=True) as conn:
        with _progress("public-code background") as progress:
            _report_background(build_background(conn, roots, progress))
        if needs_reindex(conn):  # code no longer public must be indexed after all
            with _progress("re-indexing every repository") as progress:
                rebuild(conn, None, progress)


def _build_background_if_needed(conn: sqlite3.Connection) -> float:
    """Build the public-code background before indexing when there is none (first use, or
    emptied by a format reset), saying how long that took; the seconds it took (0 when it
    was in place)."""
    from egress_watch.classify.proprietary.background import background_to_build, build_background

    sources = background_to_build(conn)
    if sources is None:
        return 0.0
    started = time.perf_counter()
    with _progress("public-code background") as progress:
        info = build_background(conn, sources, progress)
    seconds = time.perf_counter() - started
    _report_background(info)
    click.echo(f"background ready for this index in {seconds:.1f} s (once per index)", err=True)
    return seconds


def _report_background(info: Background) -> None:
    """What the background holds, from which sources, and what building it cost."""
    from egress_watch.classify.proprietary.background import describe_background

    click.echo(describe_background(info), err=True)


@index.command("list")
@home_option
@click.option("--json", "as_json", is_flag=True, help="Print the repositories as JSON.")
@translate_errors
def list_(as_json: bool) -> None:
    """List the indexed repositories."""
    from egress_watch.classify.proprietary.background import background_info, describe_background
    from egress_watch.classify.proprietary.index import index_path
    from egress_watch.classify.proprietary.repos import list_repos

    if not index_path(current_paths().home).exists():
        click.echo("[]" if as_json else "no repositories indexed (egress-watch index add PATH)")
        return
    with _opened() as conn:
        repos = list_repos(conn)
        public = background_info(conn)
    if as_json:
        click.echo(json.dumps([_repo_json(r) for r in repos]))
        return
    if public is not None:
        click.echo(describe_background(public), err=True)
    for repo in repos:
        click.echo(
            f"{repo.name:<20} {repo.files:>6} files {repo.bytes / 1e6:>8.1f} MB  "
            f"{repo.indexed_at or '-'}  {repo.root}"
        )


def _repo_json(repo: object) -> dict[str, object]:
    """A repository as ``index list --json`` prints it."""
    fields = ("name", "root", "files", "bytes", "indexed_at")
    return {field: getattr(repo, field) for field in fields}


@index.command()
@home_option
@click.argument("name")
@translate_errors
def remove(name: str) -> None:
    """Forget a repository: its code is no longer recognised."""
    from egress_watch.classify.proprietary.repos import remove_repo

    with _opened() as conn:
        remove_repo(conn, name)
    click.echo(f"removed {name}", err=True)


@index.command("rebuild")
@home_option
@click.argument("name", required=False)
@translate_errors
def rebuild_(name: str | None) -> None:
    """Re-index one repository (or all) from its folder; unchanged files are not re-read.

    An index written by another egress-watch or Python version is emptied and re-indexed
    whole (its hashes depend on both), keeping its repositories and background sources.
    """
    from egress_watch.classify.proprietary.index import needs_reindex
    from egress_watch.classify.proprietary.repos import rebuild

    with _opened(reset=True) as conn:
        _build_background_if_needed(conn)
        if name is not None and needs_reindex(conn):
            click.echo("the index format changed: rebuilding every repository", err=True)
            name = None
        with _progress(f"rebuilding {name or 'all'}") as progress:
            rebuild(conn, name, progress)
    click.echo("index up to date", err=True)

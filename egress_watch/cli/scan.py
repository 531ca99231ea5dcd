"""``egress-watch scan``: classify files, stdin or saved traffic offline with the proxy's engine."""

from __future__ import annotations

import bisect
import json
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import click

from egress_watch.cli.options import (
    EXIT_FINDINGS,
    EXIT_OK,
    UsageProblem,
    current_paths,
    home_option,
    translate_errors,
)
from egress_watch.config.settings import load_settings
from egress_watch.shapes import finding_json


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


@click.command()
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

"""``egress-watch scan --har FILE``: print what each saved request carried (CLI edge)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from egress_watch.capture.har import entry_json, inspect_saved, read_saved
from egress_watch.catalog.services import catalog_with
from egress_watch.classify.engine import Engine
from egress_watch.config.settings import Settings
from egress_watch.pipeline import Inspector, Policy


def scan_har(file: Path, engine: Engine, settings: Settings, as_json: bool, texts: bool) -> bool:
    """Inspect every request in ``file`` and print it; True when anything was found."""
    inspector = Inspector(
        catalog_with(settings.services),
        engine,
        Policy(max_body_bytes=settings.max_body_mib * 2**20, inspect_budget_ms=None),
    )
    found_any = False
    try:
        for saved in read_saved(file):
            inspection = inspect_saved(inspector, saved)
            if inspection is None:
                continue
            entry = entry_json(str(file), saved, inspection, texts)
            found_any = found_any or bool(entry["findings"])
            click.echo(json.dumps(entry) if as_json else _text(entry, texts))
    except ValueError as error:
        raise click.ClickException(f"{file}: {error}") from None
    return found_any


def _message(entry: dict[str, Any]) -> str:
    return f" message {entry['message']}" if "message" in entry else ""


def _text(entry: dict[str, Any], texts: bool) -> str:
    """Human form: one header line per request, then findings and (optionally) texts."""
    service = entry["service"] or "(not in catalog)"
    segments = entry["segments"]
    findings = entry["findings"]
    head = (
        f"#{entry['entry']}{_message(entry)} {entry['method']} {entry['host']}{entry['url_path']}  "
        f"{service}/{entry['family']}  {len(segments)} segments, {len(findings)} findings"
    )
    lines = [head]
    if entry["uninspected_reason"]:
        lines.append(f"  uninspected: {entry['uninspected_reason']}")
    for f in findings:
        seg = segments[f["segment"]]
        where = f"{seg['role']}" + (
            f" msg {seg['message_index']}" if seg["message_index"] is not None else ""
        )
        where += f" {seg['path_hint']}" if seg["path_hint"] else ""
        lines.append(
            f"  [{where}] {f['severity']} {f['category']}/{f['rule']} {f['masked']} "
            f"@{f['start']}-{f['end']}"
        )
    for seg in segments if texts else ():
        hint = f" ({seg['path_hint']})" if seg["path_hint"] else ""
        lines.append(f"  --- segment {seg['index']} {seg['role']}{hint}, {seg['length']} chars")
        lines.extend(f"    {line}" for line in str(seg["text"]).splitlines())
    return "\n".join(lines)

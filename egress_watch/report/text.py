"""The report for the terminal, laid out with rich (colour only when writing to a terminal)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING

from egress_watch.report.common import (
    NUMERIC_COLUMNS,
    STOPPED_COLUMNS,
    STOPPED_NOTE,
    STOPPED_TITLE,
    USAGE_COLUMNS,
    headline,
    human_bytes,
    joined,
    short_fingerprint,
    status_text,
    stopped_cells,
    trend_change,
    trend_value,
    usage_cells,
    when,
)
from egress_watch.report.contents import OPEN, Exposure, ReportData, UsageRow

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.table import Table
    from rich.text import Text

WRAPPING = {
    "Where it went", "Via", "Services", "Tools", "Why", "Reason", "Repository", "Operator", "Rule",
}  # fmt: skip
"""Columns that may wrap onto more lines; the rest (dates, counts, masks) stay on one line."""
SEVERITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan"}


def _table(title: str, header: Sequence[str], rows: Sequence[Sequence[str | Text]]) -> Table:
    """A table with numbers right-aligned; only the list-like columns wrap."""
    from rich import box
    from rich.table import Table

    table = Table(title=title, title_justify="left", title_style="bold", box=box.SIMPLE_HEAD)
    for name in header:
        table.add_column(
            name,
            justify="right" if name in NUMERIC_COLUMNS else "left",
            overflow="fold",
            no_wrap=name not in WRAPPING,
        )
    for row in rows:
        table.add_row(*row)
    return table


def _usage(title: str, first: str, rows: Sequence[UsageRow]) -> Table:
    return _table(title, [first, *USAGE_COLUMNS], [[r.name, *usage_cells(r)] for r in rows])


def _items(title: str, items: Sequence[Exposure], empty: str) -> list[RenderableType]:
    """Exposed values as two lines each (what, then where): a table is too wide for them."""
    from rich.text import Text

    if not items:
        return [Text(empty)]
    out: list[RenderableType] = [Text(title, style="bold")]
    for n, item in enumerate(items, 1):
        line = Text(f"{n:>3}. ")
        line.append(f"{status_text(item):<14}", style="bold" if item.status == OPEN else "dim")
        line.append(f" {item.severity:<8}", style=SEVERITY_STYLE[item.severity])
        line.append(f" {item.rule}  {item.masked}  fp {short_fingerprint(item.fingerprint)}")
        if item.verification == "active":
            line.append("  VERIFIED ACTIVE: rotate now", style="bold red")
        seen = "new" if item.new else "seen before"
        line.append(
            f"\n     first seen {when(item.first_seen)} ({seen}), {item.requests} request(s) "
            f"to {joined(item.services)} via {joined(item.tools)}",
            style="dim" if item.status != OPEN else "",
        )
        out.append(line)
    return out


def _sections(data: ReportData) -> list[RenderableType]:
    from rich.text import Text

    def sev(severity: str) -> Text:
        return Text(severity, style=SEVERITY_STYLE[severity])

    out: list[RenderableType] = [
        Text("egress-watch exposure report", style="bold"),
        Text(f"Period: {data.period.label}\nCompared with: {data.previous_period.label}"),
        Text(headline(data)),
        *_items("Act on these first", data.attention, "Nothing critical is unacknowledged."),
        _table(
            "Summary",
            ["", "This period", "Previous", "Change"],
            [
                [r.label, trend_value(r, r.current), trend_value(r, r.previous), trend_change(r)]
                for r in data.trend
            ],
        ),
        *_items("Secrets to rotate", data.secrets, "Secrets to rotate: none this period."),
        *(
            [
                _table(STOPPED_TITLE, STOPPED_COLUMNS, [stopped_cells(v) for v in data.stopped]),
                Text(STOPPED_NOTE, style="dim"),
            ]
            if data.stopped
            else [Text(f"{STOPPED_TITLE}: none this period.")]
        ),
        _usage("Traffic per service", "Service", data.services),
        _usage("Traffic per tool", "Tool", data.tools),
    ]
    sections: list[tuple[str, list[str], list[list[str | Text]]]] = [
        ("Findings by category and severity", ["Category", "Severity", "Findings",
         "Unique values"], [[f.category, sev(f.severity), str(f.findings), str(f.unique_values)]
                            for f in data.findings]),
        ("Proprietary code per repository", ["Repository", "Files", "Lines", "Requests",
         "Services", "Tools"], [[r.repo, str(r.files), str(r.lines), str(r.requests),
                                 joined(r.services), joined(r.tools)] for r in data.repositories]),
        ("Uninspected egress", ["Service", "Host", "Reason", "Requests", "Bytes sent"],
         [[u.service, u.host, u.reason, str(u.requests), human_bytes(u.bytes_out)]
          for u in data.uninspected]),
        ("Shadow-AI hosts", ["Host", "New", "First seen", "Last seen", "Connections (all time)",
         "Why", "Last tool"], [[h.host, "new" if h.new else "seen before", when(h.first_seen),
                                when(h.last_seen), str(h.connections), h.reason, h.tool]
                               for h in data.shadow_hosts]),
    ]  # fmt: skip
    for title, header, rows in sections:
        out.append(_table(title, header, rows) if rows else Text(f"{title}: none this period."))
    out.extend(_where(data))
    return out


def _where(data: ReportData) -> list[RenderableType]:
    """The "Where it went" section: per jurisdiction, per region, endpoints that may train."""
    from rich.text import Text

    from egress_watch.report import where

    w = data.where
    out: list[RenderableType] = [Text(where.TITLE, style="bold"), Text(where.INTRO)]
    for title, first, kind, rows in (
        ("Per jurisdiction", "Jurisdiction", "jurisdiction", w.jurisdictions),
        ("Per region", "Region", "region", w.regions),
    ):
        cells = [[where.place_name(r, kind), *where.place_cells(r, human_bytes)] for r in rows]
        out.append(_table(title, [first, *where.PLACE_COLUMNS], cells) if cells
                   else Text(f"{title}: no requests this period."))  # fmt: skip
    if not w.training:
        out.append(Text("Endpoints that may train by default: none used this period."))
        return out
    out.append(_table("Endpoints that may train on requests by default",
                      list(where.TRAINING_COLUMNS),
                      [where.training_cells(t, human_bytes) for t in w.training]))  # fmt: skip
    for t in w.training:
        out.append(Text(f"{t.service} ({t.host}): " + "; ".join(t.terms), style="dim"))
    return out


def render_text(data: ReportData, *, color: bool = False, width: int = 120) -> str:
    """The report as terminal text; ``color`` adds ANSI styles (only for a real terminal)."""
    from rich.console import Console

    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=width,
        force_terminal=color,
        no_color=not color,
        color_system="standard" if color else None,
        highlight=False,
        emoji=False,
        markup=False,
    )
    for section in _sections(data):
        console.print(section)
        console.print()
    return buffer.getvalue()

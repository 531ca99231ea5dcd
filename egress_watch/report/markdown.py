"""The report as Markdown, for pasting into a ticket (GitHub-flavoured tables)."""

from __future__ import annotations

from collections.abc import Sequence

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
from egress_watch.report.contents import Exposure, ReportData, UsageRow

NONE = "_None this period._"
_ESCAPED = "\\`*_[]<>|#"


def text(value: object) -> str:
    """A table cell of plain text: Markdown and HTML syntax escaped, one line."""
    out = str(value).replace("\r", " ").replace("\n", " ")
    for char in _ESCAPED:
        out = out.replace(char, "\\" + char)
    return out


def code(value: object) -> str:
    """An inline code span, unless the value itself holds a backtick."""
    raw = str(value).replace("\r", " ").replace("\n", " ")
    if "`" in raw:
        return text(raw)
    return "`" + raw.replace("|", "\\|") + "`"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A GFM table (cells already escaped); a short note when there are no rows."""
    if not rows:
        return [NONE]
    numeric = ["---:" if h.startswith("#") or h in _NUMERIC else "---" for h in header]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(numeric) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


_NUMERIC = NUMERIC_COLUMNS


_ROTATE_NOW = " **verified active: rotate now**"


def _attention(items: Sequence[Exposure]) -> list[str]:
    if not items:
        return ["Nothing critical is unacknowledged."]
    return [
        f"{n}. **{text(item.severity)}** {code(item.rule)} {code(item.masked)}"
        f"{_ROTATE_NOW if item.verification == 'active' else ''}: first seen "
        f"{when(item.first_seen)}, sent in {item.requests} request(s) to "
        f"{text(joined(item.services))} via {text(joined(item.tools))}. "
        f"{'Rotate it' if item.category == 'secret' else 'Review it'}, then acknowledge it."
        for n, item in enumerate(items, 1)
    ]


def _usage(rows: Sequence[UsageRow], first: str) -> list[str]:
    return table([first, *USAGE_COLUMNS], [[text(r.name), *usage_cells(r)] for r in rows])


def render_markdown(data: ReportData) -> str:
    """The whole report as one Markdown document."""
    out = [
        "# egress-watch exposure report",
        "",
        f"**Period:** {data.period.label}  ",
        f"**Compared with:** {data.previous_period.label}  ",
        f"**Generated:** {when(data.generated_at)} UTC",
        "",
        headline(data),
        "",
        "## Act on these first",
        "",
        *_attention(data.attention),
        "",
        "## Summary",
        "",
        *table(
            ["", "This period", "Previous", "Change"],
            [
                [
                    row.label,
                    trend_value(row, row.current),
                    trend_value(row, row.previous),
                    trend_change(row),
                ]
                for row in data.trend
            ],
        ),
        "",
        "## Secrets to rotate",
        "",
        *table(
            [
                "Status",
                "Severity",
                "Rule",
                "Masked value",
                "First seen",
                "New",
                "Requests",
                "Where it went",
                "Via",
                "Fingerprint",
            ],
            [
                [
                    f"**{status_text(s)}**" if s.status == "open" else status_text(s),
                    s.severity,
                    code(s.rule),
                    code(s.masked),
                    when(s.first_seen),
                    "new" if s.new else "seen before",
                    str(s.requests),
                    text(joined(s.services)),
                    text(joined(s.tools)),
                    code(short_fingerprint(s.fingerprint)),
                ]
                for s in data.secrets
            ],
        ),
        "",
        f"## {STOPPED_TITLE}",
        "",
        *([STOPPED_NOTE, ""] if data.stopped else []),
        *table(
            list(STOPPED_COLUMNS),
            [
                [
                    code(cell) if column in ("Rule", "Masked value") else text(cell)
                    for column, cell in zip(STOPPED_COLUMNS, stopped_cells(v), strict=True)
                ]
                for v in data.stopped
            ],
        ),
        "",
        "## Traffic per service",
        "",
        *_usage(data.services, "Service"),
        "",
        "## Traffic per tool",
        "",
        *_usage(data.tools, "Tool"),
        "",
        "## Findings by category and severity",
        "",
        *table(
            ["Category", "Severity", "Findings", "Unique values"],
            [
                [f.category, f.severity, str(f.findings), str(f.unique_values)]
                for f in data.findings
            ],
        ),
        "",
        "## Proprietary code per repository",
        "",
        *table(
            ["Repository", "Files", "Lines", "Requests", "Services", "Tools"],
            [
                [
                    code(r.repo),
                    str(r.files),
                    str(r.lines),
                    str(r.requests),
                    text(joined(r.services)),
                    text(joined(r.tools)),
                ]
                for r in data.repositories
            ],
        ),
        "",
        "## Uninspected egress",
        "",
        *table(
            ["Service", "Host", "Reason", "Requests", "Bytes sent"],
            [
                [
                    text(u.service),
                    code(u.host),
                    text(u.reason),
                    str(u.requests),
                    human_bytes(u.bytes_out),
                ]
                for u in data.uninspected
            ],
        ),
        "",
        "## Shadow-AI hosts",
        "",
        *table(
            [
                "Host",
                "New",
                "First seen",
                "Last seen",
                "Connections (all time)",
                "Why",
                "Last tool",
            ],
            [
                [
                    code(h.host),
                    "new" if h.new else "seen before",
                    when(h.first_seen),
                    when(h.last_seen),
                    str(h.connections),
                    text(h.reason),
                    text(h.tool),
                ]
                for h in data.shadow_hosts
            ],
        ),
        "",
        *_where(data),
    ]
    return "\n".join(out)


def _where(data: ReportData) -> list[str]:
    """The "Where it went" section: per jurisdiction, per region, endpoints that may train."""
    from egress_watch.report import where

    w = data.where
    out = [f"## {where.TITLE}", "", where.INTRO, ""]
    for title, first, kind, rows in (
        ("Per jurisdiction", "Jurisdiction", "jurisdiction", w.jurisdictions),
        ("Per region", "Region", "region", w.regions),
    ):
        cells = [
            [text(where.place_name(r, kind)), *map(text, where.place_cells(r, human_bytes))]
            for r in rows
        ]
        out += [f"### {title}", "", *table([first, *where.PLACE_COLUMNS], cells), ""]
    out += ["### Endpoints that may train on requests by default", ""]
    training = [[text(c) for c in where.training_cells(t, human_bytes)] for t in w.training]
    out += [*table(list(where.TRAINING_COLUMNS), training), ""]
    out += [f"- {code(t.host)}: {text('; '.join(t.terms))}" for t in w.training]
    return [*out, ""] if w.training else out

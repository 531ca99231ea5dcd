"""The report as one self-contained HTML file: inline CSS and SVG, no script, no external asset.

Tables turn into labelled cards on a phone-sized screen and back into tables when printed.
Every value from the history goes through ``html.escape``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from html import escape

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
from egress_watch.report.contents import OPEN, Exposure, ReportData, StoppedValue, UsageRow
from egress_watch.report.svg import SEVERITY_COLORS, bar_chart, severity_chart, trend_chart

CSS = """
:root{--fg:#1d2125;--muted:#5c6670;--line:#dee2e6;--bg:#fff;--soft:#f5f7f9;--bad:#b42318}
*{box-sizing:border-box;-webkit-print-color-adjust:exact;print-color-adjust:exact}
body{margin:0;background:var(--bg);color:var(--fg);
 font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Liberation Sans",sans-serif}
main{max-width:1100px;margin:0 auto;padding:16px}
h1{font-size:1.5rem;margin:.2rem 0}h2{font-size:1.15rem;margin:1.6rem 0 .5rem;
 border-bottom:2px solid var(--line);padding-bottom:.2rem;break-after:avoid}
.meta{color:var(--muted);margin:.2rem 0}.lead{font-weight:600}
.kpis{display:grid;grid-template-columns:repeat(4,1fr);gap:8px;margin:12px 0}
.kpi{background:var(--soft);border-radius:8px;padding:8px 10px}
.kpi b{display:block;font-size:1.4rem}.kpi span{color:var(--muted);font-size:.85rem}
.kpi.bad{background:#fdecea}.kpi.bad b{color:var(--bad)}
.ok{background:#ebfbee;border-radius:8px;padding:8px 12px}
ol.attention{padding-left:1.4rem}ol.attention li{margin:.35rem 0}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.85rem}table.compact{max-width:680px}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{background:var(--soft);font-weight:600}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
code{font:.85rem ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;
 background:var(--soft);padding:0 3px;border-radius:3px;overflow-wrap:anywhere}
td code{white-space:nowrap}td small{display:block;color:var(--muted)}
.new{display:inline-block;background:#e7f5ff;color:#1864ab;border-radius:4px;padding:0 5px;
 font-size:.8rem}.d{white-space:nowrap}
.sev{display:inline-block;color:#fff;border-radius:4px;padding:0 6px;font-size:.8rem}
.open{color:var(--bad);font-weight:700}.done{color:var(--muted)}
.chart{width:100%;max-width:480px;height:auto;display:block;margin:8px 0}
.chart .lbl,.chart .val{font:13px system-ui,sans-serif;fill:var(--fg)}
.chart .sm{font-size:11px}.chart .lgd{font:11px system-ui,sans-serif;fill:var(--muted)}
.none{color:var(--muted);font-style:italic}
footer{color:var(--muted);font-size:.8rem;margin-top:2rem}
@media screen and (max-width:640px){
 main{padding:10px}.kpis{grid-template-columns:repeat(2,1fr)}table.cards thead{display:none}
 table.cards tr{display:block;border:1px solid var(--line);border-radius:8px;margin:0 0 8px;
  padding:4px 8px}
 table.cards td{display:flex;justify-content:space-between;gap:12px;border:0;padding:3px 0;
  text-align:right;white-space:normal}
 table.cards td>span{margin-left:auto;min-width:0}table.cards td code{white-space:normal}
 table.cards td::before{content:attr(data-label);font-weight:600;text-align:left;
  color:var(--muted)}
}
@media print{body{font-size:10pt}main{max-width:none;padding:0}.scroll{overflow:visible}
 .kpis{grid-template-columns:repeat(4,1fr)}tr,.kpi,.chart{break-inside:avoid}}
"""

TREND_CHART = {"requests": "Requests", "findings": "Findings", "secrets": "Secrets that left",
               "open_critical": "Open critical", "redacted": "Redacted"}  # fmt: skip
_NUMERIC = NUMERIC_COLUMNS


def _cell(label: str, content: str) -> str:
    kind = ' class="n"' if label in _NUMERIC else ""
    return f'<td data-label="{escape(label)}"{kind}><span>{content}</span></td>'


def table(header: Sequence[str], rows: Sequence[Sequence[str]], *, cards: bool = True) -> str:
    """A table of already-escaped cells, or a note when empty; wide ones become cards on phones."""
    if not rows:
        return '<p class="none">None this period.</p>'
    head = "".join(
        f'<th{' class="n"' if h in _NUMERIC else ""} scope="col">{escape(h)}</th>' for h in header
    )
    body = "".join(
        "<tr>" + "".join(_cell(h, c) for h, c in zip(header, row, strict=True)) + "</tr>"
        for row in rows
    )
    return (
        f'<div class="scroll"><table class="{"cards" if cards else "compact"}">'
        f"<thead><tr>{head}</tr></thead>"
        f"<tbody>{body}</tbody></table></div>"
    )


def _code(value: str) -> str:
    return f"<code>{escape(value)}</code>"


def _sev(severity: str) -> str:
    color = SEVERITY_COLORS.get(severity, "#868e96")
    return f'<span class="sev" style="background:{color}">{escape(severity)}</span>'


def _status(item: Exposure) -> str:
    kind = "open" if item.status == OPEN else "done"
    return f'<span class="{kind}">{escape(status_text(item))}</span>'


def _kpis(data: ReportData) -> str:
    t = data.totals
    cards = [
        ("Requests inspected", str(t.requests), False),
        ("Bytes sent", human_bytes(t.bytes_out), False),
        ("Findings", str(t.findings), False),
        ("Unique secrets that left", f"{t.secrets} ({t.new_secrets} new)", t.secrets > 0),
        ("Stopped before leaving", str(t.stopped), False),
        ("Unacknowledged critical", str(t.open_critical), t.open_critical > 0),
        ("Redacted / blocked", f"{t.redacted} / {t.blocked}", False),
        ("Uninspected", str(t.uninspected), t.uninspected > 0),
        ("Shadow-AI hosts", str(t.shadow_hosts), t.shadow_hosts > 0),
    ]
    return (
        '<section class="kpis">'
        + "".join(
            f'<div class="kpi{" bad" if bad else ""}"><b>{escape(value)}</b>'
            f"<span>{escape(label)}</span></div>"
            for label, value, bad in cards
        )
        + "</section>"
    )


_ROTATE_NOW = " <strong>verified active: rotate now</strong>"


def _attention(items: Sequence[Exposure]) -> str:
    if not items:
        return '<p class="ok">Nothing critical is unacknowledged.</p>'
    return (
        '<ol class="attention">'
        + "".join(
            f"<li>{_sev(i.severity)} {_code(i.rule)} {_code(i.masked)}"
            f"{_ROTATE_NOW if i.verification == 'active' else ''}"
            ": first seen "
            f"{escape(when(i.first_seen))}, sent in {i.requests} request(s) to "
            f"<b>{escape(joined(i.services))}</b> via <b>{escape(joined(i.tools))}</b>. "
            f"{'Rotate it' if i.category == 'secret' else 'Review it'}, then acknowledge it.</li>"
            for i in items
        )
        + "</ol>"
    )


def _usage(rows: Sequence[UsageRow], first: str) -> str:
    return table([first, *USAGE_COLUMNS], [[escape(r.name), *usage_cells(r)] for r in rows])


def _secrets(items: Sequence[Exposure]) -> str:
    """The rotation checklist; the short fingerprint sits under the mask, "new" by the date."""
    return table(
        ["Status", "Severity", "Rule", "Masked value", "First seen", "Requests", "Where it went",
         "Via"],
        [
            [
                _status(s), _sev(s.severity), _code(s.rule),
                f"{_code(s.masked)}<small>fp {escape(short_fingerprint(s.fingerprint))}</small>",
                f'<span class="d">{escape(when(s.first_seen))}</span>'
                + (' <span class="new">new</span>' if s.new else "<small>seen before</small>"),
                str(s.requests), escape(joined(s.services)), escape(joined(s.tools)),
            ]
            for s in items
        ],
    )  # fmt: skip


def _stopped(items: Sequence[StoppedValue]) -> str:
    """Values kept from the service: how often each was redacted, blocked or never received."""
    if not items:
        return '<p class="none">None this period.</p>'
    cells = [
        [
            _code(cell) if column in ("Rule", "Masked value") else escape(cell)
            for column, cell in zip(STOPPED_COLUMNS, stopped_cells(v), strict=True)
        ]
        for v in items
    ]
    return f"<p>{escape(STOPPED_NOTE)}</p>" + table(STOPPED_COLUMNS, cells)


def _section(anchor: str, title: str, *body: str) -> str:
    return f'<section id="{anchor}"><h2>{escape(title)}</h2>{"".join(body)}</section>'


def _severity_rows(data: ReportData) -> list[tuple[str, dict[str, int]]]:
    by_category: dict[str, dict[str, int]] = defaultdict(dict)
    for f in data.findings:
        by_category[f.category][f.severity] = (
            by_category[f.category].get(f.severity, 0) + f.findings
        )
    return list(by_category.items())


def _where(data: ReportData) -> str:
    """The "Where it went" section: per jurisdiction, per region, endpoints that may train."""
    from egress_watch.report import where

    w = data.where
    parts = [f'<p class="note">{escape(where.INTRO)}</p>']
    for title, first, kind, rows in (
        ("Per jurisdiction", "Jurisdiction", "jurisdiction", w.jurisdictions),
        ("Per region", "Region", "region", w.regions),
    ):
        cells = [
            [escape(where.place_name(r, kind)), *map(escape, where.place_cells(r, human_bytes))]
            for r in rows
        ]
        parts += [f"<h3>{escape(title)}</h3>", table([first, *where.PLACE_COLUMNS], cells)]
    parts.append("<h3>Endpoints that may train on requests by default</h3>")
    training = [[escape(c) for c in where.training_cells(t, human_bytes)] for t in w.training]
    parts.append(table(list(where.TRAINING_COLUMNS), training))
    parts += [
        f'<p class="note">{_code(t.host)}: {escape("; ".join(t.terms))}</p>' for t in w.training
    ]
    return _section("where-it-went", where.TITLE, *parts)


def render_html(data: ReportData) -> str:
    """The whole report as one HTML document."""
    trend = [
        (TREND_CHART[r.key], r.current, r.previous) for r in data.trend if r.key in TREND_CHART
    ]
    sections = [
        _section("attention", "Act on these first", _attention(data.attention)),
        _section(
            "summary",
            "Summary",
            table(
                ["", "This period", "Previous", "Change"],
                [
                    [
                        escape(r.label),
                        trend_value(r, r.current),
                        trend_value(r, r.previous),
                        trend_change(r),
                    ]
                    for r in data.trend
                ],
                cards=False,
            ),
            trend_chart("This period against the previous one", trend),
        ),
        _section("secrets", "Secrets to rotate", _secrets(data.secrets)),
        _section("stopped", STOPPED_TITLE, _stopped(data.stopped)),
        _section(
            "services",
            "Traffic per service",
            bar_chart(
                "Requests per service",
                [(r.name, r.requests, str(r.requests)) for r in data.services],
                "#1c7ed6",
            ),
            _usage(data.services, "Service"),
        ),
        _section(
            "tools",
            "Traffic per tool",
            bar_chart(
                "Bytes sent per tool",
                [(r.name, r.bytes_out, human_bytes(r.bytes_out)) for r in data.tools],
                "#7048e8",
            ),
            _usage(data.tools, "Tool"),
        ),
        _section(
            "findings",
            "Findings by category and severity",
            severity_chart("Findings by category and severity", _severity_rows(data)),
            table(
                ["Category", "Severity", "Findings", "Unique values"],
                [
                    [escape(f.category), _sev(f.severity), str(f.findings), str(f.unique_values)]
                    for f in data.findings
                ],
                cards=False,
            ),
        ),
        _section(
            "repositories",
            "Proprietary code per repository",
            table(
                ["Repository", "Files", "Lines", "Requests", "Services", "Tools"],
                [
                    [
                        _code(r.repo),
                        str(r.files),
                        str(r.lines),
                        str(r.requests),
                        escape(joined(r.services)),
                        escape(joined(r.tools)),
                    ]
                    for r in data.repositories
                ],
            ),
        ),
        _section(
            "uninspected",
            "Uninspected egress",
            table(
                ["Service", "Host", "Reason", "Requests", "Bytes sent"],
                [
                    [
                        escape(u.service),
                        _code(u.host),
                        escape(u.reason),
                        str(u.requests),
                        human_bytes(u.bytes_out),
                    ]
                    for u in data.uninspected
                ],
            ),
        ),
        _section(
            "shadow-ai",
            "Shadow-AI hosts",
            table(
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
                        _code(h.host),
                        "new" if h.new else "seen before",
                        escape(when(h.first_seen)),
                        escape(when(h.last_seen)),
                        str(h.connections),
                        escape(h.reason),
                        escape(h.tool),
                    ]
                    for h in data.shadow_hosts
                ],
            ),
        ),
        _where(data),
    ]
    title = f"egress-watch exposure report, {data.period.label}"
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body><main>"
        "<header><h1>egress-watch exposure report</h1>"
        f'<p class="meta">{escape(data.period.label)} · compared with '
        f"{escape(data.previous_period.label)} · generated {escape(when(data.generated_at))} "
        f'UTC</p><p class="lead">{escape(headline(data))}</p></header>'
        f"{_kpis(data)}{''.join(sections)}"
        "<footer>Only masked previews and keyed fingerprints are shown; egress-watch never "
        "stores a secret value, a request body or an auth header.</footer>"
        "</main></body></html>\n"
    )

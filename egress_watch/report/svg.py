"""Small inline SVG charts for the HTML report: no script, no external asset, scale to any width."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

SEVERITY_COLORS = {"critical": "#b42318", "high": "#e8590c", "medium": "#d4a106", "low": "#1c7ed6"}
WIDTH = 400
LABEL_W = 138
VALUE_W = 70
ROW = 26
MAX_ROWS = 8


def _short(label: str, limit: int = 20) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _label(y: int, label: str) -> str:
    return (
        f'<text x="{LABEL_W - 6}" y="{y + 17}" text-anchor="end" class="lbl">'
        f"<title>{escape(label)}</title>{escape(_short(label))}</text>"
    )


def _open(title: str, height: int) -> str:
    return (
        f'<svg class="chart" role="img" viewBox="0 0 {WIDTH} {height}" '
        f'xmlns="http://www.w3.org/2000/svg" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>"
    )


def bar_chart(title: str, items: Sequence[tuple[str, int, str]], color: str) -> str:
    """Horizontal bars: ``(label, value, value as shown)``, the largest first, at most 8."""
    rows = sorted(items, key=lambda item: -item[1])[:MAX_ROWS]
    if not rows:
        return ""
    peak = max(value for _, value, _ in rows) or 1
    span = WIDTH - LABEL_W - VALUE_W
    parts = [_open(title, ROW * len(rows) + 8)]
    for index, (label, value, shown) in enumerate(rows):
        y = 4 + index * ROW
        width = max(2, round(span * value / peak)) if value else 0
        parts += [
            _label(y, label),
            f'<rect x="{LABEL_W}" y="{y + 5}" width="{width}" height="{ROW - 10}" rx="3" '
            f'fill="{color}"/>',
            f'<text x="{LABEL_W + width + 5}" y="{y + 17}" class="val">{escape(shown)}</text>',
        ]
    parts.append("</svg>")
    return "".join(parts)


def severity_chart(title: str, rows: Sequence[tuple[str, dict[str, int]]]) -> str:
    """One bar per category, split by severity, with a legend underneath."""
    rows = sorted(rows, key=lambda row: -sum(row[1].values()))[:MAX_ROWS]
    if not rows:
        return ""
    peak = max(sum(counts.values()) for _, counts in rows) or 1
    span = WIDTH - LABEL_W - VALUE_W
    legend_y = ROW * len(rows) + 10
    parts = [_open(title, legend_y + 22)]
    for index, (category, counts) in enumerate(rows):
        y, x = 4 + index * ROW, LABEL_W
        parts.append(_label(y, category))
        for severity, color in SEVERITY_COLORS.items():
            count = counts.get(severity, 0)
            if not count:
                continue
            width = max(2, round(span * count / peak))
            parts.append(
                f'<rect x="{x}" y="{y + 5}" width="{width}" height="{ROW - 10}" fill="{color}">'
                f"<title>{escape(category)}: {count} {severity}</title></rect>"
            )
            x += width
        total = sum(counts.values())
        parts.append(f'<text x="{x + 5}" y="{y + 17}" class="val">{total}</text>')
    x = LABEL_W
    for severity, color in SEVERITY_COLORS.items():
        parts.append(
            f'<rect x="{x}" y="{legend_y + 4}" width="10" height="10" fill="{color}"/>'
            f'<text x="{x + 14}" y="{legend_y + 13}" class="lgd">{severity}</text>'
        )
        x += 30 + 7 * len(severity)
    parts.append("</svg>")
    return "".join(parts)


def trend_chart(title: str, rows: Sequence[tuple[str, int, int]]) -> str:
    """Paired bars per metric, previous window (grey) above this one (blue), each to its scale."""
    if not rows:
        return ""
    pair = 2 * ROW - 14
    span = WIDTH - LABEL_W - VALUE_W
    legend_y = pair * len(rows) + 6
    parts = [_open(title, legend_y + 22)]
    for index, (label, current, previous) in enumerate(rows):
        y = 4 + index * pair
        peak = max(current, previous) or 1
        parts.append(_label(y + 6, label))
        for offset, value, color in ((0, previous, "#adb5bd"), (13, current, "#1c7ed6")):
            width = max(2, round(span * value / peak)) if value else 0
            parts.append(
                f'<rect x="{LABEL_W}" y="{y + offset + 2}" width="{width}" height="10" rx="2" '
                f'fill="{color}"/><text x="{LABEL_W + width + 5}" y="{y + offset + 11}" '
                f'class="val sm">{value}</text>'
            )
    parts.append(
        f'<rect x="{LABEL_W}" y="{legend_y + 4}" width="10" height="10" fill="#adb5bd"/>'
        f'<text x="{LABEL_W + 14}" y="{legend_y + 13}" class="lgd">previous</text>'
        f'<rect x="{LABEL_W + 90}" y="{legend_y + 4}" width="10" height="10" fill="#1c7ed6"/>'
        f'<text x="{LABEL_W + 104}" y="{legend_y + 13}" class="lgd">this period</text></svg>'
    )
    return "".join(parts)

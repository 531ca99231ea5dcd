"""Report: the history of a window in; the weekly exposure summary out, in four formats.

``data`` computes it once, one module per format lays it out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the CLI imports this package at start-up: keep it light
    from egress_watch.report.contents import ReportData

FORMATS = ("text", "md", "html", "json")


def renderer(fmt: str) -> Callable[[ReportData], str]:
    """The render function for a format name (imports only the one asked for)."""
    if fmt == "md":
        from egress_watch.report.markdown import render_markdown

        return render_markdown
    if fmt == "html":
        from egress_watch.report.html import render_html

        return render_html
    if fmt == "json":
        from egress_watch.report.json_format import render_json

        return render_json
    if fmt == "text":
        from egress_watch.report.text import render_text

        return render_text
    raise ValueError(f"unknown report format {fmt!r} (choose from {', '.join(FORMATS)})")

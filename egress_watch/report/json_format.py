"""The report as JSON for automation: a versioned shape, documented in docs/report-schema.md.

``schema_version`` changes only when a field is removed or changes meaning; new fields may be
added within a version, so consumers should ignore keys they do not know.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from egress_watch.report.contents import ReportData
from egress_watch.report.period import Period


def _period(period: Period) -> dict[str, str]:
    return {"start": period.start_iso, "end": period.end_iso}


def report_json(data: ReportData) -> dict[str, Any]:
    """The JSON document as a dict (lists for every sequence, ISO UTC for every time)."""

    def rows(items: tuple[Any, ...]) -> list[dict[str, Any]]:
        return [asdict(item) for item in items]

    return {
        "schema_version": data.schema_version,
        "generated_at": data.generated_at,
        "period": _period(data.period),
        "previous_period": _period(data.previous_period),
        "totals": asdict(data.totals),
        "previous_totals": asdict(data.previous_totals),
        "attention": rows(data.attention),
        "secrets": rows(data.secrets),
        "stopped": rows(data.stopped),
        "services": rows(data.services),
        "tools": rows(data.tools),
        "findings": rows(data.findings),
        "repositories": rows(data.repositories),
        "uninspected": rows(data.uninspected),
        "shadow_hosts": rows(data.shadow_hosts),
        "where_it_went": asdict(data.where),
    }


def render_json(data: ReportData) -> str:
    return json.dumps(report_json(data), indent=2, ensure_ascii=False) + "\n"

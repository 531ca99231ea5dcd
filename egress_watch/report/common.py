"""Formatting shared by the renderers, so every format prints the same number the same way."""

from __future__ import annotations

from collections.abc import Iterable

from egress_watch.report.contents import (
    ACKNOWLEDGED,
    ALLOWLISTED,
    Exposure,
    ReportData,
    StoppedValue,
    TrendRow,
    UsageRow,
)

SEVERITIES = ("critical", "high", "medium", "low")
NUMERIC_COLUMNS = frozenset({
    "Requests", "Bytes sent", "Findings", "Redacted", "Blocked", "Uninspected", "Files", "Lines",
    "Unique values", "Connections (all time)", "This period", "Previous", "Change", "Secrets",
    "Proprietary files", "Not sent",
})  # fmt: skip
"""Column headers whose cells are numbers: right-aligned in every format."""
_UNITS = ("KiB", "MiB", "GiB", "TiB")


def human_bytes(count: int) -> str:
    """``1.5 MiB``; exact below 1 KiB."""
    if count < 1024:
        return f"{count} B"
    value = float(count)
    for unit in _UNITS:
        value /= 1024
        if value < 1024 or unit == _UNITS[-1]:
            break
    return f"{value:.1f} {unit}"


def signed(delta: int) -> str:
    """``+3``, ``-2``, ``0``: the change against the previous window."""
    return f"{delta:+d}" if delta else "0"


def when(iso: str) -> str:
    """``2026-11-20 09:00`` from a stored UTC timestamp (minutes are enough to act on)."""
    return iso[:16].replace("T", " ")


USAGE_COLUMNS = (
    "Requests", "Bytes sent", "Findings", "Redacted", "Blocked", "Not sent", "Uninspected",
)  # fmt: skip
"""The number columns of a usage table (per service, per process), after its name column."""


def usage_cells(row: UsageRow) -> list[str]:
    """A usage row's cells under ``USAGE_COLUMNS``, the same in every format."""
    return [
        str(row.requests),
        human_bytes(row.bytes_out),
        str(row.findings),
        str(row.redacted),
        str(row.blocked),
        str(row.not_sent),
        str(row.uninspected),
    ]


STOPPED_TITLE = "Stopped before leaving"
STOPPED_NOTE = (
    "Values egress-watch kept from the service every time they were sent: redacted in flight, "
    "request blocked, or never received by the upstream. Nothing to rotate."
)
STOPPED_COLUMNS = (
    "Severity", "Rule", "Masked value", "Redacted", "Blocked", "Not sent", "Services", "Tools",
    "Last seen",
)  # fmt: skip
"""The columns of the "Stopped before leaving" table; counts are requests."""


def stopped_cells(item: StoppedValue) -> list[str]:
    """A stopped value's cells under ``STOPPED_COLUMNS`` (plain text; formats escape)."""
    return [
        item.severity,
        item.rule,
        item.masked,
        str(item.redacted),
        str(item.blocked),
        str(item.not_sent),
        joined(item.services),
        joined(item.tools),
        when(item.last_seen),
    ]


def joined(names: Iterable[str]) -> str:
    return ", ".join(names) or "-"


def trend_value(row: TrendRow, value: int) -> str:
    return human_bytes(value) if row.key == "bytes_out" else str(value)


def trend_change(row: TrendRow) -> str:
    if row.key == "bytes_out":
        sign = "+" if row.change > 0 else "-" if row.change < 0 else ""
        return sign + human_bytes(abs(row.change)) if row.change else "0"
    return signed(row.change)


def status_text(item: Exposure) -> str:
    """What still has to happen for this value."""
    if item.status == ACKNOWLEDGED:
        return "acknowledged"
    if item.status == ALLOWLISTED:
        return "allowlisted"
    return "unacknowledged"


def short_fingerprint(fingerprint: str) -> str:
    return fingerprint.removeprefix("hmac-sha256:")[:12]


def headline(data: ReportData) -> str:
    """One sentence for the top of every format."""
    t = data.totals
    return (
        f"{t.requests} requests inspected ({human_bytes(t.bytes_out)} sent), "
        f"{t.findings} findings, "
        f"{t.secrets} unique secrets left ({t.new_secrets} new), "
        f"{t.stopped} values stopped before leaving, "
        f"{t.open_critical} unacknowledged critical."
    )

"""What the weekly report holds: one frozen value type per section, and its schema version.

``data`` fills them from the history; the renderers (text, md, html, json) only read them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from egress_watch.report.period import Period
from egress_watch.report.where import WhereItWent

SCHEMA_VERSION = 2
"""2: exposures, secrets and bytes count only what reached the service; ``stopped`` added."""
UNKNOWN_TOOL = "(unknown process)"
OPEN, ACKNOWLEDGED, ALLOWLISTED = "open", "acknowledged", "allowlisted"


@dataclass(frozen=True, slots=True)
class Totals:
    """The headline counts of one window."""

    requests: int = 0
    bytes_out: int = 0
    findings: int = 0
    secrets: int = 0
    new_secrets: int = 0
    open_critical: int = 0
    redacted: int = 0
    blocked: int = 0
    not_sent: int = 0
    stopped: int = 0
    uninspected: int = 0
    errors: int = 0
    repositories: int = 0
    shadow_hosts: int = 0


TREND_LABELS: tuple[tuple[str, str], ...] = (
    ("requests", "Requests inspected"),
    ("bytes_out", "Bytes sent"),
    ("findings", "Findings"),
    ("secrets", "Unique secrets that left"),
    ("new_secrets", "New secrets"),
    ("open_critical", "Unacknowledged critical"),
    ("redacted", "Requests redacted"),
    ("blocked", "Requests blocked"),
    ("not_sent", "Requests the upstream never got"),
    ("stopped", "Values stopped before leaving"),
    ("uninspected", "Requests uninspected"),
    ("errors", "Requests with errors"),
    ("repositories", "Repositories exposed"),
    ("shadow_hosts", "Shadow-AI hosts"),
)


@dataclass(frozen=True, slots=True)
class TrendRow:
    key: str
    label: str
    current: int
    previous: int

    @property
    def change(self) -> int:
        return self.current - self.previous


@dataclass(frozen=True, slots=True)
class UsageRow:
    """Traffic of one service or one tool (the sending process)."""

    name: str
    requests: int
    bytes_out: int
    findings: int
    redacted: int
    blocked: int
    uninspected: int
    not_sent: int = 0


@dataclass(frozen=True, slots=True)
class FindingCount:
    category: str
    severity: str
    findings: int
    unique_values: int


@dataclass(frozen=True, slots=True)
class Exposure:
    """One value (by fingerprint) that left in this window: never the value, only its mask."""

    fingerprint: str
    category: str
    rule: str
    severity: str
    masked: str
    first_seen: str
    last_seen: str
    requests: int
    services: tuple[str, ...]
    tools: tuple[str, ...]
    new: bool
    status: str
    verification: str = ""
    """``active``, ``inactive`` or ``unknown`` when ``[secrets] verify`` asked the issuer."""
    verified_at: str = ""


@dataclass(frozen=True, slots=True)
class StoppedValue:
    """A value that never left in this window: every request carrying it was stopped."""

    fingerprint: str
    category: str
    rule: str
    severity: str
    masked: str
    last_seen: str
    redacted: int
    """Requests that went out with this value replaced."""
    blocked: int
    """Requests answered locally."""
    not_sent: int
    """Requests the upstream never got."""
    services: tuple[str, ...]
    tools: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RepoExposure:
    """Proprietary code of one registered repository seen in requests."""

    repo: str
    files: int
    lines: int
    requests: int
    findings: int
    services: tuple[str, ...]
    tools: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class UninspectedRow:
    service: str
    host: str
    reason: str
    requests: int
    bytes_out: int


@dataclass(frozen=True, slots=True)
class ShadowHost:
    """An uncatalogued host that looks like an AI service (its traffic was not decrypted)."""

    host: str
    first_seen: str
    last_seen: str
    connections: int
    reason: str
    tool: str
    new: bool


@dataclass(frozen=True, slots=True)
class ReportData:
    """Everything a format shows; the formats only lay it out."""

    generated_at: str
    period: Period
    previous_period: Period
    totals: Totals
    previous_totals: Totals
    trend: tuple[TrendRow, ...]
    attention: tuple[Exposure, ...]
    secrets: tuple[Exposure, ...]
    stopped: tuple[StoppedValue, ...]
    services: tuple[UsageRow, ...]
    tools: tuple[UsageRow, ...]
    findings: tuple[FindingCount, ...]
    repositories: tuple[RepoExposure, ...]
    uninspected: tuple[UninspectedRow, ...]
    shadow_hosts: tuple[ShadowHost, ...]
    schema_version: int = SCHEMA_VERSION
    where: WhereItWent = field(default_factory=WhereItWent)
    """Per jurisdiction and region, and endpoints that may train (report/where.py)."""

"""Frozen value types shared by every layer: what was captured, extracted, found and decided."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import UTC, datetime


def utc_iso(moment: datetime) -> str:
    """The storage form of a timestamp: UTC, ISO 8601, microseconds, sortable as text."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


class Severity(enum.IntEnum):
    """How urgent a finding is; ordered so `max()` gives the worst."""

    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, value: str) -> Severity:
        """Parse a lower-case label such as ``"high"``; raises ValueError with the choices."""
        try:
            return cls[value.strip().upper()]
        except KeyError:
            choices = ", ".join(s.label for s in cls)
            raise ValueError(f"unknown severity {value!r} (choose from {choices})") from None


class Category(enum.StrEnum):
    """The detection categories of DESIGN.md."""

    SECRET = "secret"  # noqa: S105 - a category name
    PROPRIETARY = "proprietary"
    INFRA = "infra"
    PII = "pii"
    MARKER = "marker"
    LOGIC = "logic"
    UNINSPECTED = "uninspected"


class Action(enum.StrEnum):
    """What the proxy did with a request."""

    PASS = "pass"  # noqa: S105 - an action name
    REDACT = "redact"
    BLOCK = "block"
    FAILED = "failed"
    """Forwarded, but the upstream failed (down, reset): the request never left."""


class Mode(enum.StrEnum):
    """Global policy mode chosen with ``--mode``."""

    MONITOR = "monitor"
    REDACT = "redact"
    BLOCK = "block"


class FailMode(enum.StrEnum):
    """What an internal error does to the user's request."""

    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class Capture:
    """One outgoing request as the pipeline sees it, auth headers already removed."""

    method: str
    scheme: str
    host: str
    port: int
    path: str
    headers: tuple[tuple[str, str], ...]
    body: bytes | None
    client_address: tuple[str, int] | None = None
    uninspected_reason: str | None = None
    streamed: bool = False
    """The body was forwarded while it was read, so it can be recorded but not stopped."""

    def header(self, name: str) -> str | None:
        """Return the first header called ``name`` (case-insensitive), or None."""
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None


JsonPath = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Segment:
    """A piece of text a request carries, with where it came from.

    ``origin`` is the JSON path of the string inside the body, so a later stage can rewrite
    exactly that string (redaction) without re-parsing heuristics.
    """

    role: str
    text: str
    origin: JsonPath = ()
    message_index: int | None = None
    path_hint: str | None = None
    """The file path the request names for this text (a tool's ``path`` argument, a
    ``# Path:`` header, a multipart filename), when there is one."""


@dataclass(frozen=True, slots=True)
class Source:
    """Where proprietary code came from: a registered repository, file and line span."""

    repo: str
    path: str
    start_line: int
    end_line: int
    score: float


@dataclass(frozen=True, slots=True)
class Finding:
    """Something sensitive inside a segment. Holds no secret value: only a mask and a keyed hash."""

    category: Category
    rule: str
    severity: Severity
    start: int
    end: int
    masked: str
    fingerprint: str
    segment_index: int = 0
    reason: str = ""
    role: str = ""
    message_index: int | None = None
    path_hint: str | None = None
    source: Source | None = None
    confidence: str = "high"
    """high, medium or low: how likely the match is what its rule says."""
    stopped: bool = False
    """The proxy kept this value from leaving: redacted in flight, or its request blocked."""


@dataclass(frozen=True, slots=True)
class Route:
    """The catalog's answer for a (host, path): which service and which API family."""

    service_id: str
    family: str
    telemetry: bool = False


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do with a request, and why."""

    action: Action
    reason: str = ""
    findings: tuple[Finding, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class HostSighting:
    """One connection through the proxy, for the hosts inventory (shadow-AI discovery)."""

    host: str
    timestamp: str
    decrypted: bool
    ai_reason: str | None = None
    """Why an uncatalogued host looks like an AI service, if it does."""
    process: str | None = None


@dataclass(frozen=True, slots=True)
class ProcessInfo:
    """The local process that sent a request (command line already masked)."""

    pid: int
    name: str
    exe: str | None = None
    cmdline: str | None = None
    parents: tuple[str, ...] = ()
    cwd: str | None = None
    repo: str | None = None
    tool: str | None = None
    """The tool, not its runtime: ``claude`` for ``node …/claude-code/cli.js`` (toolname.py)."""

    @property
    def tool_or_name(self) -> str:
        return self.tool or self.name


@dataclass(frozen=True, slots=True)
class Event:
    """One inspected request, ready to store: metadata and redacted findings, never the body."""

    timestamp: str
    service: str
    family: str
    host: str
    method: str
    path: str
    bytes_out: int
    action: Action
    findings: tuple[Finding, ...] = ()
    segment_count: int = 0
    uninspected_reason: str | None = None
    error: str | None = None
    client: str | None = None
    model: str | None = None
    conversation_key: str | None = None
    process: ProcessInfo | None = None
    jurisdictions: tuple[str, ...] = ()
    """ISO codes of the destination's operator and parent (``"SG?"``: unconfirmed)."""
    region: str | None = None
    """Where the destination host processes requests, per the catalog (None: not known)."""

    @property
    def severity(self) -> Severity | None:
        """The worst severity among the findings, or None when clean."""
        return max((f.severity for f in self.findings), default=None)


@dataclass(frozen=True, slots=True)
class RestoreOutcome:
    """What restoring an event's answer did: counts only, never a value."""

    event_id: int
    restored: int
    unrestored: int

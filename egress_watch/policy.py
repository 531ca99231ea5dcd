"""Decide what happens to a request from its findings, the service and the policy (pure).

Each finding gets a level (monitor, alert, redact, block) from the most specific entry that
names it: the service's table before the global one, a category before a severity. The
request's action is the strongest level among its findings.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from egress_watch.model import Action, Category, Decision, Finding, Mode, Severity


class Level(enum.IntEnum):
    """What a finding asks for; ordered, so the strongest of a request's findings wins."""

    MONITOR = 0
    ALERT = 1
    REDACT = 2
    BLOCK = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, value: object) -> Level:
        """Parse ``"monitor"``, ``"alert"``, ``"redact"`` or ``"block"``; ValueError otherwise."""
        choices = ", ".join(level.label for level in cls)
        if not isinstance(value, str) or value.strip().upper() not in cls.__members__:
            raise ValueError(f"expected one of {choices}, got {value!r}")
        return cls[value.strip().upper()]


def _frozen[K, V](mapping: Mapping[K, V] | None = None) -> Mapping[K, V]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True, slots=True)
class Scope:
    """Levels by severity and by category, for every service or for one."""

    by_severity: Mapping[Severity, Level] = field(default_factory=_frozen)
    by_category: Mapping[Category, Level] = field(default_factory=_frozen)

    def level(self, finding: Finding) -> Level | None:
        """The category's level if named, else the severity's, else None."""
        found = self.by_category.get(finding.category)
        return found if found is not None else self.by_severity.get(finding.severity)


DEFAULT_SCOPE = Scope(
    _frozen({Severity.CRITICAL: Level.ALERT, Severity.HIGH: Level.ALERT}),
    _frozen(),
)


@dataclass(frozen=True, slots=True)
class PolicyTable:
    """``[policy]`` of config.toml: a global scope and per-service scopes over it."""

    base: Scope = DEFAULT_SCOPE
    services: Mapping[str, Scope] = field(default_factory=_frozen)

    def level(self, finding: Finding, service: str) -> Level:
        """The level of the most specific entry naming this finding; monitor when none does."""
        scoped = self.services.get(service)
        found = scoped.level(finding) if scoped is not None else None
        if found is None:
            found = self.base.level(finding)
        return Level.MONITOR if found is None else found


def _scope(raw: Mapping[str, Any], where: str, defaults: Scope | None) -> Scope:
    """Validate one table of ``key = "level"`` where a key is a severity or a category."""
    severities = dict(defaults.by_severity) if defaults else {}
    categories = dict(defaults.by_category) if defaults else {}
    for key, value in raw.items():
        try:
            level = Level.parse(value)
        except ValueError as error:
            raise ValueError(f"{where}.{key}: {error}") from None
        if key in {s.label for s in Severity}:
            severities[Severity.parse(key)] = level
        elif key in {c.value for c in Category}:
            categories[Category(key)] = level
        else:
            known = ", ".join([*(s.label for s in Severity), *(c.value for c in Category)])
            raise ValueError(f"{where}: unknown key {key!r} (a severity or category: {known})")
    return Scope(_frozen(severities), _frozen(categories))


def parse_policy(raw: object, known_services: Collection[str]) -> PolicyTable:
    """Validate the ``[policy]`` table; ValueError names the key (``policy.…``) and the fix.

    Keys of ``[policy]`` merge over the defaults (alert on critical and high); each
    ``[policy.services.<id>]`` table names a service of the catalog.
    """
    if not isinstance(raw, Mapping):
        raise ValueError("policy: expected a table [policy]")
    raw = dict(raw)
    services_raw = raw.pop("services", {})
    base = _scope(raw, "policy", DEFAULT_SCOPE)
    if not isinstance(services_raw, Mapping):
        raise ValueError("policy.services: expected tables [policy.services.<service id>]")
    services: dict[str, Scope] = {}
    for service, table in services_raw.items():
        where = f"policy.services.{service}"
        if service not in known_services:
            raise ValueError(f"{where}: unknown service {service!r} (see `egress-watch services`)")
        if not isinstance(table, Mapping):
            raise ValueError(f"{where}: expected a table [{where}]")
        services[service] = _scope(table, where, None)
    return PolicyTable(base, _frozen(services))


@dataclass(frozen=True, slots=True)
class Verdict:
    """The request's decision and the findings to notify the user about."""

    decision: Decision
    alerts: tuple[Finding, ...] = ()


_MODE_LEVEL = {Mode.REDACT: Level.REDACT, Mode.BLOCK: Level.BLOCK}


def finding_level(
    finding: Finding,
    service: str,
    table: PolicyTable,
    mode: Mode = Mode.MONITOR,
    threshold: Severity = Severity.HIGH,
    allowed: Collection[str] = (),
) -> Level:
    """One finding's level: allowed values are only recorded; a redact or block mode (``--mode``)
    overrides the table for findings at or above ``threshold``."""
    if finding.fingerprint in allowed:
        return Level.MONITOR
    if mode in _MODE_LEVEL and finding.severity >= threshold:
        return _MODE_LEVEL[mode]
    return table.level(finding, service)


def decide(
    findings: Sequence[Finding],
    service: str,
    table: PolicyTable | None = None,
    mode: Mode = Mode.MONITOR,
    threshold: Severity = Severity.HIGH,
    allowed: Collection[str] = (),
    monitor_only: bool = False,
) -> Verdict:
    """The strongest level among the findings decides the request; alerts are every finding
    at alert level or above, so a redaction or a block is never silent either.

    The decision's findings are the ones acted on (all of them when passing).
    """
    table = table if table is not None else PolicyTable()
    levels = [finding_level(f, service, table, mode, threshold, allowed) for f in findings]
    if monitor_only:
        levels = [min(level, Level.ALERT) for level in levels]
    alerts = tuple(f for f, level in zip(findings, levels, strict=True) if level >= Level.ALERT)
    strongest = max(levels, default=Level.MONITOR)
    if strongest < Level.REDACT:
        return Verdict(Decision(Action.PASS, findings=tuple(findings)), alerts)
    acted = tuple(f for f, level in zip(findings, levels, strict=True) if level is strongest)
    if strongest is Level.REDACT:
        rules = ", ".join(sorted({f.rule for f in acted}))
        return Verdict(Decision(Action.REDACT, f"redacted {rules}", acted), alerts)
    return Verdict(block(acted), alerts)


MAX_LISTED = 5
"""Values a block message names; the rest are counted."""


def block(serious: tuple[Finding, ...], why: str = "") -> Decision:
    """A block decision whose reason names each value (masked) with its own fingerprint, so
    the user can allow exactly the one that is not a secret."""
    values: dict[str, Finding] = {}
    for finding in serious:
        values.setdefault(finding.fingerprint, finding)
    listed = list(values.values())[:MAX_LISTED]
    if len(values) == 1:
        only = listed[0]
        reason = (
            f"egress-watch blocked this request because it contains {only.rule} {only.masked}"
            f"{why}. Remove the value and send the request again. If it is not a secret, allow "
            f"it with: egress-watch allow {only.fingerprint} --reason TEXT"
        )
    else:
        pairs = "; ".join(f"{f.rule} {f.masked} = {f.fingerprint}" for f in listed)
        more = f"; and {len(values) - len(listed)} more" if len(values) > len(listed) else ""
        reason = (
            f"egress-watch blocked this request because it contains {len(values)} values{why}: "
            f"{pairs}{more}. Remove them and send the request again. If one is not a secret, "
            "allow it with: egress-watch allow FINGERPRINT --reason TEXT (its fingerprint "
            "follows its value above)"
        )
    return Decision(Action.BLOCK, reason, serious)


def enforceable(decision: Decision, rewritable: bool, streamed: bool = False) -> Decision:
    """Turn a decision into one the proxy can carry out for this body.

    A streamed body has already left when it is inspected: it is recorded, not stopped.
    Redaction needs a body whose strings can be rewritten in place; protobuf, multipart and
    base64-wrapped bodies cannot be re-encoded safely here, so those are blocked instead.
    """
    if streamed and decision.action is not Action.PASS:
        return Decision(
            Action.PASS, "streamed request: recorded, could not be stopped", decision.findings
        )
    if decision.action is Action.REDACT and not rewritable:
        return block(decision.findings, " (this body cannot be redacted in place)")
    return decision

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

from egress_watch.catalog.facts import UNKNOWN, Facts
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
class JurisdictionRule:
    """``[policy.jurisdictions.<CODE>]``: a level for every request, and per finding."""

    default: Level | None = None
    scope: Scope = field(default_factory=Scope)


@dataclass(frozen=True, slots=True)
class PolicyTable:
    """``[policy]`` of config.toml: a global scope and per-service scopes over it, plus rules
    on where a request goes (``[policy.jurisdictions]``, ``training``)."""

    base: Scope = DEFAULT_SCOPE
    services: Mapping[str, Scope] = field(default_factory=_frozen)
    jurisdictions: Mapping[str, JurisdictionRule] = field(default_factory=_frozen)
    training: Level | None = None
    """For endpoints whose terms may train on requests by default."""

    def level(self, finding: Finding, service: str) -> Level:
        """The level of the most specific entry naming this finding; monitor when none does."""
        scoped = self.services.get(service)
        found = scoped.level(finding) if scoped is not None else None
        if found is None:
            found = self.base.level(finding)
        return Level.MONITOR if found is None else found

    def rules_for(self, facts: Facts) -> list[tuple[str, JurisdictionRule]]:
        """The jurisdiction rules naming one of the destination's codes (operator or parent)."""
        return [
            (code, self.jurisdictions[code]) for code in facts.codes if code in self.jurisdictions
        ]


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


def _jurisdictions(raw: object) -> dict[str, JurisdictionRule]:
    """``[policy.jurisdictions]``: ``CN = "block"`` or a table with ``default`` and scope keys."""
    if not isinstance(raw, Mapping):
        raise ValueError('policy.jurisdictions: expected a table, e.g. CN = "block"')
    rules: dict[str, JurisdictionRule] = {}
    for code, value in raw.items():
        where = f"policy.jurisdictions.{code}"
        if not (len(code) == 2 and code.isalpha() and code.isupper()):
            raise ValueError(f"{where}: expected an ISO 3166-1 alpha-2 code such as CN or RU")
        table = dict(value) if isinstance(value, Mapping) else {"default": value}
        default = None
        if "default" in table:
            try:
                default = Level.parse(table.pop("default"))
            except ValueError as error:
                raise ValueError(f"{where}.default: {error}") from None
            if default is Level.REDACT:
                raise ValueError(
                    f"{where}.default: redact needs a finding to redact; use monitor, alert or "
                    'block, or name a category (secret = "redact")'
                )
        rules[code] = JurisdictionRule(default, _scope(table, where, None))
    return rules


def _training(raw: object) -> Level:
    try:
        level = Level.parse(raw)
    except ValueError as error:
        raise ValueError(f"policy.training: {error}") from None
    if level is Level.REDACT:
        raise ValueError(
            "policy.training: expected monitor, alert or block (redact needs a finding)"
        )
    return level


def parse_policy(raw: object, known_services: Collection[str]) -> PolicyTable:
    """Validate the ``[policy]`` table; ValueError names the key (``policy.…``) and the fix.

    Keys of ``[policy]`` merge over the defaults (alert on critical and high); each
    ``[policy.services.<id>]`` table names a service of the catalog.
    """
    if not isinstance(raw, Mapping):
        raise ValueError("policy: expected a table [policy]")
    raw = dict(raw)
    services_raw = raw.pop("services", {})
    jurisdictions = _jurisdictions(raw.pop("jurisdictions", {}))
    training = _training(raw.pop("training")) if "training" in raw else None
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
    return PolicyTable(base, _frozen(services), _frozen(jurisdictions), training)


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
    uninspected: str | None = None,
    facts: Facts = UNKNOWN,
) -> Verdict:
    """The strongest level among the findings decides the request; alerts are every finding
    at alert level or above, so a redaction or a block is never silent either.

    ``uninspected`` is why (part of) the body could not be read: ``[policy] uninspected``
    then decides too (see ``uninspected_level``). ``facts`` says where the request goes: a
    jurisdiction rule naming the operator's or the parent's code, and ``training``, apply to the
    request itself and tighten its findings' levels. The decision's findings are the ones acted
    on (all of them when passing).
    """
    table = table if table is not None else PolicyTable()
    rules = table.rules_for(facts)
    levels = [
        _tightened(finding_level(f, service, table, mode, threshold, allowed), f, rules, allowed)
        for f in findings
    ]
    where, destination_level = destination(service, facts, table)
    if monitor_only:
        levels = [min(level, Level.ALERT) for level in levels]
        destination_level = min(destination_level, Level.ALERT)
    alerts = tuple(f for f, level in zip(findings, levels, strict=True) if level >= Level.ALERT)
    if destination_level >= Level.ALERT:
        alerts += (destination_finding(service, facts, where),)
    if destination_level is Level.BLOCK:
        return Verdict(Decision(Action.BLOCK, destination_reason(where), tuple(findings)), alerts)
    strongest = max(levels, default=Level.MONITOR)
    if uninspected and strongest < Level.BLOCK:
        level = uninspected_level(service, table, mode)
        level = min(level, Level.ALERT) if monitor_only else level
        if level >= Level.REDACT:
            return Verdict(unreadable_block(uninspected, tuple(findings)), alerts)
        if level is Level.ALERT:
            alerts = (*alerts, unreadable_alert(uninspected, service))
    if strongest < Level.REDACT:
        return Verdict(Decision(Action.PASS, findings=tuple(findings)), alerts)
    acted = tuple(f for f, level in zip(findings, levels, strict=True) if level is strongest)
    if strongest is Level.REDACT:
        rules_text = ", ".join(sorted({f.rule for f in acted}))
        return Verdict(Decision(Action.REDACT, f"redacted {rules_text}", acted), alerts)
    return Verdict(block(acted), alerts)


def uninspected_level(service: str, table: PolicyTable, mode: Mode) -> Level:
    """The level for a body that could not be read: ``[policy] uninspected`` (the service's
    entry first); without one, block mode blocks what it cannot read and other modes record it.

    Redact means block here: what cannot be read cannot be redacted.
    """
    for scope in (table.services.get(service), table.base):
        if scope is not None and Category.UNINSPECTED in scope.by_category:
            return scope.by_category[Category.UNINSPECTED]
    return Level.BLOCK if mode is Mode.BLOCK else Level.MONITOR


def unreadable_alert(why: str, service: str) -> Finding:
    """What the desktop is told about an unread body (never stored: the event has the reason).

    One fingerprint per service, so the notifier shows it once an hour, not per request.
    """
    return Finding(
        Category.UNINSPECTED, "uninspected-body", Severity.MEDIUM, 0, 0, why[:120],
        f"uninspected:{service}", reason=why,
    )  # fmt: skip


def unreadable_block(why: str, findings: tuple[Finding, ...] = ()) -> Decision:
    """A block decision for a body egress-watch could not read, saying why and what to change."""
    return Decision(
        Action.BLOCK,
        f"egress-watch blocked this request because it could not inspect its body ({why}). "
        'To let such requests through, set uninspected = "monitor" under [policy] '
        "in egress-watch's config.toml.",
        findings,
    )


def _tightened(
    level: Level,
    finding: Finding,
    rules: Sequence[tuple[str, JurisdictionRule]],
    allowed: Collection[str],
) -> Level:
    """A jurisdiction's entry for a finding can only raise its level; an allowed value stays."""
    if finding.fingerprint in allowed:
        return level
    for _code, rule in rules:
        found = rule.scope.level(finding)
        if found is not None and found > level:
            level = found
    return level


def destination(service: str, facts: Facts, table: PolicyTable) -> tuple[str, Level]:
    """What the policy says about where the request goes: the rule's words, and its level."""
    strongest, why = Level.MONITOR, ""
    for code, rule in table.rules_for(facts):
        if rule.default is not None and rule.default > strongest:
            strongest = rule.default
            why = (
                f"{service} is operated by {facts.who} (jurisdiction {code}) and config.toml "
                f'says [policy.jurisdictions] {code} = "{rule.default.label}"'
            )
    if table.training is not None and facts.trains_by_default and table.training > strongest:
        strongest = table.training
        why = (
            f"the terms of {service} ({facts.who}) may train on requests by default "
            f'(may_train = "{facts.may_train}") and config.toml says [policy] training = '
            f'"{table.training.label}"'
        )
    return why, strongest


def destination_reason(why: str) -> str:
    return (
        f"egress-watch blocked this request because {why}. Use another service, or change that "
        "rule in config.toml and reload egress-watch."
    )


def destination_finding(service: str, facts: Facts, why: str) -> Finding:
    """A notification-only finding for a destination rule (never stored: it holds no value)."""
    codes = ",".join(facts.codes) or "unknown"
    return Finding(
        Category.MARKER,
        "destination-policy",
        Severity.MEDIUM,
        0,
        0,
        f"{service}: {why}"[:200],
        f"destination:{service}:{codes}:{facts.may_train}",
    )


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

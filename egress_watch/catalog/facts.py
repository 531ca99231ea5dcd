"""Where a service's requests go: operator, jurisdictions, region and training terms (pure).

Facts come from the providers reference with a confirmation status per service; a fact the
reference could not confirm is kept with a trailing ``?`` (``"SG?"``) and shown as unconfirmed,
never presented as settled. Region lists (``[regions.aws]``) expand host templates such as
``bedrock-runtime.{aws}.amazonaws.com`` into explicit hosts, each with its own region, so the
CA's name constraints never need a wildcard inside a name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

STATUSES = ("confirmed", "partial", "unconfirmed")
MAY_TRAIN = ("yes", "some-tiers", "no", "unknown")
"""Whether the endpoint's terms let the operator train on requests by default."""
TRAINS_BY_DEFAULT = frozenset({"yes", "some-tiers"})
REGION_WORDS = ("CN-mainland", "global", "customer-chosen", "unknown")
_CODE = re.compile(r"[A-Z]{2}\??")
_REGION = re.compile(r"(?:[A-Z]{2}(?:\+[A-Z]{2})*|CN-mainland|global|customer-chosen|unknown)\??")
_TEMPLATE = re.compile(r"\{([a-z0-9-]+)\}")
FACT_KEYS = frozenset(
    {"operator", "parent", "jurisdictions", "region", "training", "may_train", "status", "sources"}
)

RegionLists = Mapping[str, Mapping[str, str]]


@dataclass(frozen=True, slots=True)
class Facts:
    """What the reference says about who operates an endpoint, where, and on what terms."""

    operator: str = ""
    parent: str = ""
    jurisdictions: tuple[str, ...] = ()
    """ISO 3166-1 alpha-2 codes of the operator and its ultimate parent; ``?`` = unconfirmed."""
    region: str = "unknown"
    training: tuple[tuple[str, str], ...] = ()
    """(tier, note) pairs: the training default and retention of each tier."""
    may_train: str = "unknown"
    status: str = "unconfirmed"
    sources: tuple[str, ...] = ()

    @property
    def codes(self) -> tuple[str, ...]:
        """The jurisdiction codes without their unconfirmed marks, for matching a policy."""
        return tuple(dict.fromkeys(code.rstrip("?") for code in self.jurisdictions))

    @property
    def trains_by_default(self) -> bool:
        return self.may_train in TRAINS_BY_DEFAULT

    @property
    def who(self) -> str:
        """``operator (parent)`` for messages; says so when nobody is known."""
        operator = self.operator or "operator unknown"
        return f"{operator} (parent: {self.parent})" if self.parent else operator

    def as_json(self) -> dict[str, Any]:
        return {
            "operator": self.operator,
            "parent": self.parent,
            "jurisdictions": list(self.jurisdictions),
            "region": self.region,
            "training": {tier: note for tier, note in self.training},
            "may_train": self.may_train,
            "status": self.status,
            "sources": list(self.sources),
        }


UNKNOWN = Facts()


@dataclass(frozen=True, slots=True)
class Site:
    """Host patterns of a service whose facts differ from the service's (another entity, region)."""

    hosts: tuple[str, ...]
    facts: Facts


def _text(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{where}: expected a string, got {value!r}")
    return value.strip()


def _choice(value: object, choices: tuple[str, ...], where: str) -> str:
    if value not in choices:
        raise ValueError(f"{where}: expected one of {', '.join(choices)}, got {value!r}")
    return str(value)


def _region(value: object, where: str) -> str:
    if not isinstance(value, str) or not _REGION.fullmatch(value):
        words = ", ".join(REGION_WORDS)
        raise ValueError(
            f"{where}: expected a country code such as 'SG' or 'EU' (several: 'US+SG'), "
            f"or one of {words} "
            f"(a trailing '?' marks it unconfirmed), got {value!r}"
        )
    return value


def _codes(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f'{where}: expected a list of country codes, e.g. ["SG", "CN"]')
    for code in value:
        if not _CODE.fullmatch(code):
            raise ValueError(
                f"{where}: {code!r} is not an ISO 3166-1 alpha-2 code such as 'CN' "
                "(a trailing '?' marks it unconfirmed)"
            )
    return tuple(value)


def _training(value: object, where: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, Mapping) or not all(isinstance(v, str) for v in value.values()):
        raise ValueError(f'{where}: expected a table of tier = "note", e.g. {{ free = "..." }}')
    return tuple((str(tier), str(note)) for tier, note in value.items())


def _strings(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{where}: expected a list of strings")
    return tuple(value)


def parse_facts(raw: Mapping[str, Any], where: str, base: Facts = UNKNOWN) -> Facts:
    """The fact keys of a service or site table, over ``base`` (the service's, for a site)."""
    changes: dict[str, Any] = {}
    parsers = {
        "operator": _text,
        "parent": _text,
        "jurisdictions": _codes,
        "region": _region,
        "training": _training,
        "may_train": lambda v, w: _choice(v, MAY_TRAIN, w),
        "status": lambda v, w: _choice(v, STATUSES, w),
        "sources": _strings,
    }
    for key, parse in parsers.items():
        if key in raw:
            changes[key] = parse(raw[key], f"{where}: {key}")
    return replace(base, **changes)


def expand_hosts(
    patterns: list[str], lists: RegionLists, where: str
) -> tuple[list[str], list[tuple[str, str]]]:
    """Expand ``{list}`` templates: the hosts, and (host, region) for every expanded one."""
    hosts: list[str] = []
    regions: list[tuple[str, str]] = []
    for pattern in patterns:
        names = _TEMPLATE.findall(pattern)
        if not names:
            hosts.append(pattern)
            continue
        if len(names) > 1:
            raise ValueError(f"{where}: {pattern!r}: at most one {{region list}} per host")
        table = lists.get(names[0])
        if table is None:
            known = ", ".join(sorted(lists)) or "none"
            raise ValueError(f"{where}: {pattern!r}: unknown region list {names[0]!r} ({known})")
        for code, region in table.items():
            host = pattern.replace("{" + names[0] + "}", code)
            hosts.append(host)
            regions.append((host, region))
    return hosts, regions


def parse_region_lists(raw: object, source: str) -> dict[str, dict[str, str]]:
    """``[regions.<name>]`` tables: a provider's region codes and where each one is."""
    if not isinstance(raw, Mapping):
        raise ValueError(f"{source}: regions: expected [regions.<name>] tables")
    lists: dict[str, dict[str, str]] = {}
    for name, table in raw.items():
        where = f"{source}: regions.{name}"
        if not isinstance(table, Mapping) or not table:
            raise ValueError(f'{where}: expected region-code = "place" entries')
        for code in table:
            if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", code):
                raise ValueError(f"{where}: {code!r} is not a host label")
        lists[name] = {code: _region(place, f"{where}.{code}") for code, place in table.items()}
    return lists

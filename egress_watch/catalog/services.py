"""The service catalog: which hosts are AI services, and which API family each endpoint speaks."""

from __future__ import annotations

import fnmatch
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from egress_watch.catalog.facts import (
    FACT_KEYS,
    UNKNOWN,
    Facts,
    RegionLists,
    Site,
    expand_hosts,
    parse_facts,
    parse_region_lists,
)
from egress_watch.extract import known_families
from egress_watch.model import Route

_HOST_LABEL = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
_HOST_CHARS = re.compile(r"^[a-z0-9*.-]+$")
_SERVICE_KEYS = (
    frozenset({"id", "name", "hosts", "family", "endpoints", "telemetry", "profile", "notes"})
    | FACT_KEYS
    | {"sites"}
)
_SITE_KEYS = FACT_KEYS | {"hosts"}
_ENDPOINT_KEYS = frozenset({"path", "family", "telemetry"})
_HOSTS_REMEMBERED = 4096


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A path glob and the API family its bodies are read as."""

    path: str
    family: str
    telemetry: bool = False

    def matches(self, path: str) -> bool:
        return fnmatch.fnmatchcase(path.split("?", 1)[0], self.path)


@dataclass(frozen=True, slots=True)
class Service:
    """One AI service: its hosts and how to read each of its endpoints."""

    id: str
    name: str
    hosts: tuple[str, ...]
    family: str
    endpoints: tuple[Endpoint, ...] = ()
    telemetry: bool = False
    notes: str = ""
    facts: Facts = UNKNOWN
    sites: tuple[Site, ...] = ()
    listed_hosts: tuple[str, ...] = ()
    """The hosts as the catalog lists them, region templates unexpanded (for display)."""

    def matches_host(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        return any(_host_regex(pattern).fullmatch(host) for pattern in self.hosts)

    def facts_for(self, host: str) -> Facts:
        """The facts of the first site naming ``host``, else the service's own."""
        host = host.lower().rstrip(".").rsplit(":", 1)[0]
        for site in self.sites:
            if any(_host_regex(pattern).fullmatch(host) for pattern in site.hosts):
                return site.facts
        return self.facts

    def route_for(self, path: str) -> Route:
        """The family of the first endpoint matching ``path``, else the service's fallback."""
        for endpoint in self.endpoints:
            if endpoint.matches(path):
                return Route(self.id, endpoint.family, self.telemetry or endpoint.telemetry)
        return Route(self.id, self.family, self.telemetry)

    def family_for(self, path: str) -> str:
        return self.route_for(path).family


def _pattern_body(pattern: str) -> str:
    """Regex for a host pattern: a leading ``*.`` is any subdomains, other ``*`` a label part."""
    prefix = ""
    if pattern.startswith("*."):
        prefix, pattern = rf"(?:{_HOST_LABEL}\.)+", pattern[2:]
    return prefix + r"[a-z0-9-]+".join(re.escape(piece) for piece in pattern.split("*"))


@cache
def _host_regex(pattern: str) -> re.Pattern[str]:
    return re.compile(_pattern_body(pattern))


def host_pattern_regex(pattern: str) -> str:
    """Translate a catalog host pattern into an anchored regex over mitmproxy's ``host:port``."""
    return rf"^{_pattern_body(pattern)}(?::\d+)?$"


@dataclass(frozen=True, slots=True)
class Catalog:
    """An ordered list of services; the first service whose hosts match wins.

    Which service a host belongs to, and its facts, are remembered per host name: the catalog
    lists every cloud region as its own host, and a request must not try them all each time.
    """

    services: tuple[Service, ...]
    _by_host: dict[str, tuple[Service, Facts] | None] = field(
        default_factory=dict, compare=False, repr=False
    )

    def _lookup(self, host: str) -> tuple[Service, Facts] | None:
        key = host.lower().rstrip(".")
        try:
            return self._by_host[key]
        except KeyError:
            pass
        service = next((s for s in self.services if s.matches_host(key)), None)
        found = (service, service.facts_for(key)) if service is not None else None
        if len(self._by_host) >= _HOSTS_REMEMBERED:
            self._by_host.clear()
        self._by_host[key] = found
        return found

    def route(self, host: str, path: str) -> Route | None:
        """Return the service and family for a request, or None for a non-AI host."""
        found = self._lookup(host)
        return found[0].route_for(path) if found is not None else None

    def allow_hosts(self) -> list[str]:
        """Regexes for mitmproxy's ``allow_hosts``: only these connections are decrypted."""
        return [host_pattern_regex(p) for s in self.services for p in s.hosts]

    def service(self, service_id: str) -> Service | None:
        return next((s for s in self.services if s.id == service_id), None)

    def facts(self, host: str) -> Facts:
        """Who operates ``host`` and where, from the first service whose hosts match it."""
        found = self._lookup(host)
        return found[1] if found is not None else UNKNOWN

    def facts_of(self, service_id: str, host: str) -> Facts:
        """The facts of ``host`` within the routed service (which may have been matched on the
        Host header rather than the connection's name)."""
        found = self._lookup(host)
        if found is not None and found[0].id == service_id:
            return found[1]
        service = self.service(service_id)
        return service.facts_for(host) if service is not None else UNKNOWN


Profiles = Mapping[str, tuple[Endpoint, ...]]


def _family(value: object, where: str) -> str:
    if not isinstance(value, str) or value not in known_families():
        known = ", ".join(known_families())
        raise ValueError(f"{where}: unknown family {value!r} (known: {known})")
    return value


def _endpoint(raw: object, where: str) -> Endpoint:
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where}: expected a table {{ path = ..., family = ... }}")
    unknown = set(raw) - _ENDPOINT_KEYS
    if unknown:
        raise ValueError(f"{where}: unknown key {sorted(unknown)[0]!r}")
    path = raw.get("path")
    if not isinstance(path, str) or not path.startswith(("/", "*")):
        raise ValueError(f"{where}.path: expected a path glob starting with '/', got {path!r}")
    return Endpoint(
        path,
        _family(raw.get("family"), f"{where}.family"),
        _bool(raw.get("telemetry", False), f"{where}.telemetry"),
    )


def _bool(value: object, where: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{where}: expected true or false, got {value!r}")
    return value


def _hosts(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise ValueError(f"{where}: expected a non-empty list of host names")
    hosts = []
    for host in value:
        if not isinstance(host, str) or not _HOST_CHARS.match(host.lower()) or "**" in host:
            raise ValueError(f"{where}: bad host pattern {host!r} (e.g. 'llm.corp.example')")
        hosts.append(host.lower().rstrip("."))
    return tuple(hosts)


def _profile_endpoints(value: object, profiles: Profiles, where: str) -> tuple[Endpoint, ...]:
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ValueError(f"{where}: expected a profile name or a list of them")
    endpoints: tuple[Endpoint, ...] = ()
    for name in names:
        if name not in profiles:
            raise ValueError(f"{where}: unknown profile {name!r} (known: {', '.join(profiles)})")
        endpoints += profiles[name]
    return endpoints


def _sites(
    raw: object, facts: Facts, expanded: list[tuple[str, str]], where: str
) -> tuple[Site, ...]:
    """The service's ``[[service.sites]]``, then one site per host a region list expanded."""
    if not isinstance(raw, list) or not all(isinstance(t, Mapping) for t in raw):
        raise ValueError(f"{where}: sites: expected a list of tables {{ hosts = [...], ... }}")
    sites = []
    for number, table in enumerate(raw):
        at = f"{where}: sites[{number}]"
        unknown = set(table) - _SITE_KEYS
        if unknown:
            known = ", ".join(sorted(_SITE_KEYS))
            raise ValueError(f"{at}: unknown key {sorted(unknown)[0]!r} (known: {known})")
        sites.append(
            Site(_hosts(table.get("hosts"), f"{at}: hosts"), parse_facts(table, at, facts))
        )
    for host, region in expanded:
        sites.append(Site((host,), parse_facts({"region": region}, where, facts)))
    return tuple(sites)


def parse_service(
    raw: Mapping[str, Any], source: str, profiles: Profiles, regions: RegionLists | None = None
) -> Service:
    """Validate one service table; errors name ``source`` and the offending key."""
    service_id = raw.get("id")
    if not isinstance(service_id, str) or not re.fullmatch(r"[a-z0-9][a-z0-9._-]*", service_id):
        raise ValueError(f"{source}: id: expected a lower-case service id, got {service_id!r}")
    where = f"{source}: service {service_id!r}"
    unknown = set(raw) - _SERVICE_KEYS
    if unknown:
        known = ", ".join(sorted(_SERVICE_KEYS))
        raise ValueError(f"{where}: unknown key {sorted(unknown)[0]!r} (known: {known})")
    endpoints_raw = raw.get("endpoints", [])
    if not isinstance(endpoints_raw, list):
        raise ValueError(f"{where}: endpoints: expected a list of tables")
    endpoints = tuple(_endpoint(e, f"{where}: endpoints[{i}]") for i, e in enumerate(endpoints_raw))
    if "profile" in raw:
        endpoints += _profile_endpoints(raw["profile"], profiles, f"{where}: profile")
    name = raw.get("name", service_id)
    raw_hosts = raw.get("hosts")
    expanded: list[tuple[str, str]] = []
    if isinstance(raw_hosts, list) and all(isinstance(h, str) for h in raw_hosts):
        raw_hosts, expanded = expand_hosts(raw_hosts, regions or {}, f"{where}: hosts")
    facts = parse_facts(raw, where)
    return Service(
        id=service_id,
        name=name if isinstance(name, str) else service_id,
        hosts=_hosts(raw_hosts, f"{where}: hosts"),
        family=_family(raw.get("family", "auto"), f"{where}: family"),
        endpoints=endpoints,
        telemetry=_bool(raw.get("telemetry", False), f"{where}: telemetry"),
        notes=str(raw.get("notes", "")),
        facts=facts,
        sites=_sites(raw.get("sites", []), facts, expanded, where),
        listed_hosts=tuple(str(h) for h in raw.get("hosts", ())),
    )


def parse_profiles(raw: Mapping[str, Any], source: str) -> dict[str, tuple[Endpoint, ...]]:
    """Named endpoint lists that services share (``profile = "openai-compatible"``)."""
    profiles = {}
    for name, table in raw.items():
        endpoints = table.get("endpoints", []) if isinstance(table, Mapping) else None
        if not isinstance(endpoints, list):
            raise ValueError(f"{source}: profile {name!r}: expected endpoints = [...]")
        where = f"{source}: profile {name!r}: endpoints"
        profiles[name] = tuple(_endpoint(e, f"{where}[{i}]") for i, e in enumerate(endpoints))
    return profiles


def parse_catalog(
    services: Iterable[Mapping[str, Any]],
    source: str,
    profiles: Profiles | None = None,
    regions: RegionLists | None = None,
) -> Catalog:
    """Build a catalog from parsed TOML tables."""
    return Catalog(tuple(parse_service(raw, source, profiles or {}, regions) for raw in services))


@cache
def _builtin_document() -> dict[str, Any]:
    text = resources.files("egress_watch.data").joinpath("services.toml").read_text("utf-8")
    return tomllib.loads(text)


def builtin_profiles() -> dict[str, tuple[Endpoint, ...]]:
    """The endpoint profiles shipped with the catalog, usable from config.toml."""
    return parse_profiles(_builtin_document().get("profile", {}), "built-in services.toml")


@cache
def builtin_regions() -> dict[str, dict[str, str]]:
    """The region lists shipped with the catalog (``{aws}``, ``{gcp}``), usable from config.toml."""
    return parse_region_lists(_builtin_document().get("regions", {}), "built-in services.toml")


def builtin_service_table(service_id: str) -> Mapping[str, Any] | None:
    """The raw TOML table of a built-in service, for a config.toml entry that amends it."""
    tables = _builtin_document()["service"]
    return next((t for t in tables if t.get("id") == service_id), None)


@cache
def builtin_catalog() -> Catalog:
    """The catalog shipped inside the package."""
    document = _builtin_document()
    return parse_catalog(
        document["service"], "built-in services.toml", builtin_profiles(), builtin_regions()
    )


def merge_catalogs(base: Catalog, overrides: Sequence[Service]) -> Catalog:
    """User services replace built-ins with the same id and come first, so they win on hosts."""
    replaced = {s.id for s in overrides}
    return Catalog(tuple(overrides) + tuple(s for s in base.services if s.id not in replaced))


def catalog_with(user_services: Sequence[Service]) -> Catalog:
    """The catalog in force: the built-in one merged with the services of config.toml."""
    return merge_catalogs(builtin_catalog(), user_services)

"""The service catalog: which hosts are AI services, and which API family each endpoint speaks."""

from __future__ import annotations

import fnmatch
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from egress_watch.model import Route

_HOST_LABEL = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A path glob and the API family its bodies are read as."""

    path: str
    family: str

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

    def matches_host(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        return any(_host_matches(pattern, host) for pattern in self.hosts)

    def family_for(self, path: str) -> str:
        for endpoint in self.endpoints:
            if endpoint.matches(path):
                return endpoint.family
        return self.family


def _host_matches(pattern: str, host: str) -> bool:
    if pattern.startswith("*."):
        return host.endswith(pattern[1:]) and len(host) > len(pattern) - 1
    return host == pattern


def host_pattern_regex(pattern: str) -> str:
    """Translate a catalog host pattern into an anchored regex over mitmproxy's ``host:port``."""
    if pattern.startswith("*."):
        return rf"^(?:{_HOST_LABEL}\.)+{re.escape(pattern[2:])}(?::\d+)?$"
    return rf"^{re.escape(pattern)}(?::\d+)?$"


@dataclass(frozen=True, slots=True)
class Catalog:
    """An ordered list of services; the first service whose hosts match wins."""

    services: tuple[Service, ...]

    def route(self, host: str, path: str) -> Route | None:
        """Return the service and family for a request, or None for a non-AI host."""
        for service in self.services:
            if service.matches_host(host):
                return Route(service.id, service.family_for(path), service.telemetry)
        return None

    def allow_hosts(self) -> list[str]:
        """Regexes for mitmproxy's ``allow_hosts``: only these connections are decrypted."""
        return [host_pattern_regex(p) for s in self.services for p in s.hosts]


def _parse_service(raw: Mapping[str, Any], source: str) -> Service:
    try:
        endpoints = tuple(
            Endpoint(str(e["path"]), str(e["family"])) for e in raw.get("endpoints", ())
        )
        hosts = tuple(str(h).lower() for h in raw["hosts"])
        service = Service(
            id=str(raw["id"]),
            name=str(raw.get("name", raw["id"])),
            hosts=hosts,
            family=str(raw.get("family", "generic-json")),
            endpoints=endpoints,
            telemetry=bool(raw.get("telemetry", False)),
        )
    except (KeyError, TypeError) as error:
        raise ValueError(
            f"{source}: service {raw.get('id', '?')!r}: missing or bad {error}"
        ) from None
    if not service.hosts:
        raise ValueError(f"{source}: service {service.id!r} has no hosts")
    return service


def parse_catalog(services: Iterable[Mapping[str, Any]], source: str) -> Catalog:
    """Build a catalog from parsed TOML tables."""
    return Catalog(tuple(_parse_service(raw, source) for raw in services))


def builtin_catalog() -> Catalog:
    """The catalog shipped inside the package."""
    text = resources.files("egress_watch.data").joinpath("services.toml").read_text("utf-8")
    return parse_catalog(tomllib.loads(text)["service"], "built-in services.toml")


def merge_catalogs(base: Catalog, overrides: Sequence[Service]) -> Catalog:
    """User services replace built-ins with the same id and come first, so they win on hosts."""
    replaced = {s.id for s in overrides}
    return Catalog(tuple(overrides) + tuple(s for s in base.services if s.id not in replaced))

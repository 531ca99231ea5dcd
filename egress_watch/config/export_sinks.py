"""``[export]`` settings: the sinks a workstation feeds, validated once (pure)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

KINDS = ("syslog", "otlp", "file", "webhook")
FORMATS = ("egress-watch", "ocsf")
STYLES = ("json", "splunk-hec")
FACILITIES = {
    "kern": 0,
    "user": 1,
    "daemon": 3,
    "auth": 4,
    "syslog": 5,
    "authpriv": 10,
    "local0": 16,
    "local1": 17,
    "local2": 18,
    "local3": 19,
    "local4": 20,
    "local5": 21,
    "local6": 22,
    "local7": 23,
}
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


@dataclass(frozen=True, slots=True)
class SinkConfig:
    """One ``[[export.sinks]]`` entry."""

    name: str
    """Unique label; ``export status`` and the delivery cursor use it."""
    kind: str
    """syslog, otlp, file or webhook."""
    format: str = "egress-watch"
    """egress-watch (schema ``egress-watch.event/1``) or ocsf (Data Security Finding)."""
    url: str = ""
    """syslog: udp:// tcp:// or tls://host:port; otlp: http(s)://…/v1/logs; webhook: http(s)://…"""
    path: str = ""
    """file: the JSON lines file."""
    facility: str = "local0"
    """syslog facility."""
    ca_file: str = ""
    """TLS: the CA bundle that signs the receiver's certificate (empty: the system's)."""
    cert_file: str = ""
    """TLS: client certificate, for receivers that ask for one."""
    key_file: str = ""
    """TLS: the client certificate's key."""
    style: str = "json"
    """webhook: json (an array of records, HMAC-signed) or splunk-hec."""
    secret_file: str = ""
    """webhook: file holding the HMAC key (json style) or the HEC token (splunk-hec)."""
    headers: tuple[tuple[str, str], ...] = ()
    """otlp / webhook: extra request headers."""
    max_mib: int = 64
    """file: rotate when the file exceeds this size."""
    backups: int = 5
    """file: rotated files kept."""
    batch: int = 200
    """Most events per delivery."""
    retry_max_s: float = 60.0
    """Longest wait between retries while the sink is unreachable."""


def _text(table: Mapping[str, Any], key: str, default: str = "") -> str:
    value = table.get(key, default)
    if not isinstance(value, str):
        raise ValueError(f"{key}: expected a string, got {value!r}")
    return value


def _number(table: Mapping[str, Any], key: str, default: float, kind: type) -> Any:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ValueError(f"{key}: expected a positive number, got {value!r}")
    return kind(value)


def _check_url(kind: str, url: str) -> None:
    schemes = {
        "syslog": {"udp", "tcp", "tls"},
        "otlp": {"http", "https"},
        "webhook": {"http", "https"},
    }[kind]
    parts = urlsplit(url)
    if parts.scheme not in schemes or not parts.hostname:
        choices = ", ".join(f"{s}://" for s in sorted(schemes))
        raise ValueError(f"url: expected {choices} with a host, got {url!r}")
    if kind == "syslog" and parts.port is None:
        raise ValueError(f"url: a syslog url needs a port, got {url!r}")


def parse_sink(table: object) -> SinkConfig:
    """Validate one sink table; raises ValueError naming the key."""
    if not isinstance(table, Mapping):
        raise ValueError("expected a table [[export.sinks]]")
    known = set(SinkConfig.__slots__) - {"kind"} | {"type"}
    unknown = sorted(set(table) - known)
    if unknown:
        raise ValueError(f"unknown key {unknown[0]!r} (known: {', '.join(sorted(known))})")
    name, kind = _text(table, "name"), _text(table, "type")
    if not _NAME.match(name):
        raise ValueError(f"name: expected letters, digits, '.', '_' or '-', got {name!r}")
    for key, value, choices in (
        ("type", kind, KINDS),
        ("format", _text(table, "format", "egress-watch"), FORMATS),
        ("style", _text(table, "style", "json"), STYLES),
        ("facility", _text(table, "facility", "local0"), FACILITIES),
    ):
        if value not in choices:
            raise ValueError(f"{key}: expected one of {', '.join(choices)}, got {value!r}")
    if kind == "file" and not _text(table, "path"):
        raise ValueError("path: a file sink needs a path")
    if kind != "file":
        _check_url(kind, _text(table, "url"))
    headers = table.get("headers", {})
    if not isinstance(headers, Mapping) or not all(isinstance(v, str) for v in headers.values()):
        raise ValueError("headers: expected a table of strings")
    return SinkConfig(
        name=name,
        kind=kind,
        format=_text(table, "format", "egress-watch"),
        url=_text(table, "url"),
        path=_text(table, "path"),
        facility=_text(table, "facility", "local0"),
        ca_file=_text(table, "ca_file"),
        cert_file=_text(table, "cert_file"),
        key_file=_text(table, "key_file"),
        style=_text(table, "style", "json"),
        secret_file=_text(table, "secret_file"),
        headers=tuple(sorted(headers.items())),
        max_mib=_number(table, "max_mib", 64, int),
        backups=_number(table, "backups", 5, int),
        batch=_number(table, "batch", 200, int),
        retry_max_s=_number(table, "retry_max_s", 60.0, float),
    )


def parse_sinks(raw: object) -> tuple[SinkConfig, ...]:
    """Validate ``[[export.sinks]]``; names must be unique (they key the delivery cursors)."""
    if not isinstance(raw, list):
        raise ValueError("expected [[export.sinks]] tables")
    sinks = []
    for number, table in enumerate(raw):
        try:
            sinks.append(parse_sink(table))
        except ValueError as error:
            raise ValueError(f"sinks[{number}]: {error}") from None
    names = [s.name for s in sinks]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate:
        raise ValueError(f"sink name {duplicate!r} is used twice")
    return tuple(sinks)

"""Settings: read once from ``config.toml``, validated whole, frozen.

A bad file raises ConfigError naming the file, the key and what is wrong, so nothing
starts half-configured.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from egress_watch.catalog.services import (
    Service,
    builtin_catalog,
    builtin_profiles,
    builtin_regions,
    builtin_service_table,
    parse_service,
)
from egress_watch.config.export_sinks import SinkConfig, parse_sinks
from egress_watch.config.file_problems import not_toml, not_utf8
from egress_watch.decide.policy import PolicyTable, parse_policy
from egress_watch.decide.restore_policy import RestorePolicy, split_restore_keys
from egress_watch.errors import ConfigError
from egress_watch.model import FailMode, Mode, Severity


@dataclass(frozen=True, slots=True)
class Settings:
    """Validated configuration for one run."""

    listen_host: str = "127.0.0.1"
    """Interface to listen on; loopback by default."""
    listen_port: int = 8080
    """TCP port of the proxy."""
    allow_remote: bool = False
    """``[proxy] allow_remote`` / ``start --allow-remote``: a non-loopback listen_host is ok."""
    upstream_proxy: str = ""
    """URL of a proxy to chain to, or empty."""
    mode: Mode = Mode.MONITOR
    """Global policy mode."""
    block_severity: Severity = Severity.HIGH
    """Redact and block modes act on findings at or above this severity."""
    fail_mode_setting: FailMode | None = None
    """Explicit fail mode, or None for the mode's default."""
    max_body_mib: int = 32
    """Largest decoded body that is inspected."""
    inspect_budget_ms: int = 3000
    """Time one request's classification may take before it is recorded as uninspected."""
    retention_days: int = 90
    """Events older than this are pruned by the daemon; exposures keep their first sighting."""
    services: tuple[Service, ...] = ()
    """User-added or overriding AI services (``[[services]]``), merged over the built-ins."""
    allow_fingerprints: tuple[str, ...] = ()
    """``[allowlist] fingerprints``: findings with these fingerprints are not reported."""
    allow_rules: tuple[str, ...] = ()
    """``[allowlist] rules``: rule ids that are not reported at all."""
    allow_values: tuple[str, ...] = ()
    """``[allowlist] values``: regexes; a secret value matching one is not reported."""
    allow_paths: tuple[str, ...] = ()
    """``[allowlist] paths``: globs; nothing in text a request names with such a path."""
    allow_baselines: tuple[str, ...] = ()
    """``[allowlist] baselines``: detect-secrets ``.secrets.baseline`` / ``.gitleaksignore``."""
    policy: PolicyTable = field(default_factory=PolicyTable)
    """``[policy]``: monitor, alert, redact or block, per severity / category and per service."""
    restore: RestorePolicy = field(default_factory=RestorePolicy)
    """``[policy] restore`` / ``redact_style`` and each service's ``restore``."""

    export_sinks: tuple[SinkConfig, ...] = ()
    """``[[export.sinks]]``: where the daemon's exporter delivers every event."""
    export_drop_paths: bool = False
    """``[export] drop_process_details``: export no command lines and no file paths."""
    export_max_backlog: int = 100_000
    """``[export] max_backlog``: undelivered events kept; beyond it the oldest are dropped."""
    infra_domains: tuple[str, ...] = ()
    """``[infra] domains``: internal domains; their host names and URLs are infra findings."""
    marker_words: tuple[str, ...] = ()
    """``[markers] words``: codenames and other words that are marker findings."""
    marker_owners: tuple[str, ...] = ()
    """``[markers] copyright_holders``: names whose copyright lines are marker findings."""
    verify_secrets: bool = False
    """``[secrets] verify``: ask each new secret's issuer whether it is live (sends the value)."""
    verify_rules: tuple[str, ...] = ()
    """``[secrets] verify_rules``: extra kingfisher rule files (custom issuers), config-relative."""
    verify_per_minute: int = 30
    """``[secrets] verify_per_minute``: most verification requests started per minute."""
    verify_private_networks: bool = False
    """``[secrets] verify_private_networks``: validators may reach private/loopback addresses."""

    @property
    def fail_mode(self) -> FailMode:
        """Open in monitor mode, closed in redact and block mode (a failure there must not send
        what the user asked to stop), unless configured."""
        if self.fail_mode_setting is not None:
            return self.fail_mode_setting
        return FailMode.OPEN if self.mode is Mode.MONITOR else FailMode.CLOSED

    def replace(self, **changes: Any) -> Settings:
        """Return a copy with ``changes`` applied and validated."""
        updated = dataclasses.replace(self, **changes)
        _check_cross_fields(updated, source="command line")
        return updated


def _port(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536:
        raise ValueError(f"expected a port number 1-65535, got {value!r}")
    return value


def _host(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected a host name or IP address, got {value!r}")
    return value.strip()


def _proxy_url(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a URL string, got {value!r}")
    if value and (urlsplit(value).scheme not in {"http", "https"} or not urlsplit(value).hostname):
        raise ValueError(f"expected an http:// or https:// URL with a host, got {value!r}")
    return value


def _enum(kind: type[Mode] | type[FailMode]) -> Callable[[object], Any]:
    def parse(value: object) -> Any:
        choices = ", ".join(m.value for m in kind)
        if not isinstance(value, str) or value not in {m.value for m in kind}:
            raise ValueError(f"expected one of {choices}, got {value!r}")
        return kind(value)

    return parse


def _optional_fail_mode(value: object) -> FailMode | None:
    return None if value == "" else FailMode(_enum(FailMode)(value))


def _severity(value: object) -> Severity:
    if not isinstance(value, str):
        raise ValueError(f"expected a severity name, got {value!r}")
    return Severity.parse(value)


def _positive_int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"expected a positive integer, got {value!r}")
    return value


def _strings(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ValueError(f"expected a list of non-empty strings, got {value!r}")
    return tuple(value)


def _bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {value!r}")
    return value


# (section, key) -> (Settings field, parser)
_SCHEMA: dict[tuple[str, str], tuple[str, Callable[[object], Any]]] = {
    ("proxy", "listen_host"): ("listen_host", _host),
    ("proxy", "listen_port"): ("listen_port", _port),
    ("proxy", "allow_remote"): ("allow_remote", _bool),
    ("proxy", "upstream_proxy"): ("upstream_proxy", _proxy_url),
    ("proxy", "mode"): ("mode", _enum(Mode)),
    ("proxy", "block_severity"): ("block_severity", _severity),
    ("proxy", "fail_mode"): ("fail_mode_setting", _optional_fail_mode),
    ("proxy", "max_body_mib"): ("max_body_mib", _positive_int),
    ("proxy", "inspect_budget_ms"): ("inspect_budget_ms", _positive_int),
    ("store", "retention_days"): ("retention_days", _positive_int),
    ("allowlist", "fingerprints"): ("allow_fingerprints", _strings),
    ("allowlist", "rules"): ("allow_rules", _strings),
    ("allowlist", "values"): ("allow_values", _strings),
    ("allowlist", "paths"): ("allow_paths", _strings),
    ("allowlist", "baselines"): ("allow_baselines", _strings),
    ("export", "sinks"): ("export_sinks", parse_sinks),
    ("export", "drop_process_details"): ("export_drop_paths", _bool),
    ("export", "max_backlog"): ("export_max_backlog", _positive_int),
    ("infra", "domains"): ("infra_domains", _strings),
    ("markers", "words"): ("marker_words", _strings),
    ("markers", "copyright_holders"): ("marker_owners", _strings),
    ("secrets", "verify"): ("verify_secrets", _bool),
    ("secrets", "verify_rules"): ("verify_rules", _strings),
    ("secrets", "verify_per_minute"): ("verify_per_minute", _positive_int),
    ("secrets", "verify_private_networks"): ("verify_private_networks", _bool),
}
_SECTIONS = {section for section, _ in _SCHEMA}


def parse_settings(document: Mapping[str, Any], source: str) -> Settings:
    """Validate a parsed TOML document into Settings; ``source`` names the file in errors."""
    values: dict[str, Any] = {}
    if "services" in document:
        values["services"] = _user_services(document["services"], source)
        document = {k: v for k, v in document.items() if k != "services"}
    if "policy" in document:
        try:
            levels, values["restore"] = split_restore_keys(document["policy"])
        except ValueError as error:
            raise ConfigError(f"{source}: {error}") from None
        values["policy"] = _policy(levels, values.get("services", ()), source)
        document = {k: v for k, v in document.items() if k != "policy"}
    for section, table in document.items():
        if section not in _SECTIONS:
            known = ", ".join(sorted(_SECTIONS))
            raise ConfigError(f"{source}: unknown section [{section}] (known: {known})")
        if not isinstance(table, Mapping):
            raise ConfigError(f"{source}: {section}: expected a table [{section}]")
        for key, raw in table.items():
            if (section, key) not in _SCHEMA:
                known = ", ".join(k for s, k in _SCHEMA if s == section)
                raise ConfigError(f"{source}: unknown key {section}.{key} (known: {known})")
            field_name, parser = _SCHEMA[(section, key)]
            try:
                values[field_name] = parser(raw)
            except ValueError as error:
                raise ConfigError(f"{source}: {section}.{key}: {error}") from None
    settings = Settings(**values)
    _check_cross_fields(settings, source)
    return settings


def _user_services(raw: object, source: str) -> tuple[Service, ...]:
    """Validate ``[[services]]`` tables; a bad one names the file, the entry and the key."""
    if not isinstance(raw, list) or not all(isinstance(t, Mapping) for t in raw):
        raise ConfigError(f"{source}: services: expected [[services]] tables")
    services = []
    for number, table in enumerate(raw):
        builtin = builtin_service_table(str(table.get("id")))
        if builtin is not None and "hosts" not in table:
            table = {**builtin, **table}  # amends a built-in: facts, notes, endpoints
        try:
            services.append(
                parse_service(
                    table, f"{source}: services[{number}]", builtin_profiles(), builtin_regions()
                )
            )
        except ValueError as error:
            raise ConfigError(str(error)) from None
    ids = [s.id for s in services]
    duplicate = next((i for i in ids if ids.count(i) > 1), None)
    if duplicate:
        raise ConfigError(f"{source}: services: id {duplicate!r} is defined twice")
    return tuple(services)


def _policy(raw: object, services: tuple[Service, ...], source: str) -> PolicyTable:
    """Validate ``[policy]`` against the catalog in force, so a misspelt service id is caught."""
    known = {s.id for s in builtin_catalog().services} | {s.id for s in services}
    try:
        return parse_policy(raw, known)
    except ValueError as error:
        raise ConfigError(f"{source}: {error}") from None


def _check_cross_fields(settings: Settings, source: str) -> None:
    """Reject combinations that are individually valid but unsafe together."""
    _port(settings.listen_port)
    _host(settings.listen_host)
    _proxy_url(settings.upstream_proxy)
    try:
        ipaddress.ip_address(settings.listen_host)
    except ValueError:
        if settings.listen_host != "localhost":
            raise ConfigError(
                f"{source}: proxy.listen_host: expected an IP address or 'localhost', "
                f"got {settings.listen_host!r}"
            ) from None


def load_settings(path: Path) -> Settings:
    """Read and validate ``path``; a missing file means all defaults."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return Settings()
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror}") from None
    try:
        raw = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: {not_utf8(data, error)}") from None
    try:
        document = tomllib.loads(raw)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: {not_toml(raw, error)}") from None
    return parse_settings(document, str(path))

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

DEFAULT_CONFIG = """\
# egress-watch configuration. Every key is optional: the values below are the defaults.
# Command-line flags (egress-watch start --listen-port ...) override this file.

[proxy]
# Address the proxy listens on. Keep it on loopback unless you know why not.
listen_host = "127.0.0.1"
listen_port = 8080
# A listen_host beyond loopback (other machines could relay through this one) is refused
# unless this is true or `egress-watch start --allow-remote` is given.
allow_remote = false
# Chain to a corporate proxy, e.g. "http://proxy.example.com:3128". Empty: connect directly.
upstream_proxy = ""
# monitor: record only.
# redact: replace each finding at or above block_severity in flight with
#         [REDACTED:<rule>:<short fingerprint>]; the rest of the request goes on unchanged.
# block:  answer locally with an API-shaped error when a finding reaches block_severity;
#         the request never leaves.
mode = "monitor"
# Severity at or above which redact and block modes act: low, medium, high, critical.
block_severity = "high"
# What an internal error does to your request: "open" forwards it (and records the error),
# "closed" answers with an error. Empty: open in monitor mode, closed in redact and block mode.
fail_mode = ""
# Bodies larger than this (MiB, after decompression) are recorded as uninspected;
# [policy] uninspected decides what happens to them (block mode blocks them by default).
max_body_mib = 32
# Milliseconds one request may spend being classified. Past it the request is recorded as
# uninspected (reason "time budget", with what was found so far) and [policy] uninspected
# decides; other requests are inspected meanwhile either way.
inspect_budget_ms = 3000

[store]
# Days of history to keep. Older events are pruned in small batches while the daemon runs;
# the list of exposed values (fingerprints, first and last seen) is kept.
retention_days = 90

# Findings not to report (known false positives). Inline "pragma: allowlist" comments inside
# outgoing text are never honoured: anyone can type one into a prompt.
[allowlist]
# Fingerprints shown by `egress-watch events` / `scan --json` ("hmac-sha256:...").
fingerprints = []
# Rule ids, e.g. ["high-entropy-string"].
rules = []
# Regexes: a secret value matching one is not reported, e.g. ["^sk_test_"].
values = []
# Globs: nothing is reported in text a request names with such a path, e.g. ["tests/fixtures/*"].
paths = []
# detect-secrets .secrets.baseline files (their hashed values are allowed) and gitleaks
# .gitleaksignore files (file:rule:line entries allow that rule in that file); relative paths
# are relative to this file's folder.
baselines = []

# What to do with each finding: monitor (record), alert (record + desktop notification),
# redact (replace the value in flight), block (answer with an error in the API's own shape).
# Keys are severities (critical, high, medium, low) or categories (secret, proprietary, infra,
# pii, marker, logic, uninspected); a category's entry wins over a severity's. proxy.mode
# redact/block (or `start --mode`) overrides this for findings at or above block_severity.
# An allowed fingerprint (`egress-watch allow`) is only recorded, whatever this says.
# uninspected: a body egress-watch cannot read (binary, too large, truncated stream). Unset,
# block mode blocks such requests and the other modes record them; "redact" means block.
[policy]
critical = "alert"
high = "alert"
# secret = "redact"
# Redacted values come back in the answers the tool receives (the provider never sees them;
# the originals stay in the daemon's memory only, for the conversation).
restore = true
# "bracketed": [REDACTED:<rule>:<short fingerprint>]; "stand-in": a value of the same shape
# (an AKIA... that is not the key) that egress-watch recognises as its own.
redact_style = "bracketed"
# Requests to endpoints whose terms may train on them by default (`services` shows may_train):
# training = "alert"
# One service's entries (ids from `egress-watch services`) win over the ones above:
# [policy.services.cursor]
# secret = "block"
# restore = false
# By jurisdiction of a service's operator or parent (`egress-watch services` shows the codes):
# [policy.jurisdictions]
# CN = "block"                      # every request to such a service
# [policy.jurisdictions.RU]
# default = "alert"                 # every request; categories and severities as in [policy]
# secret = "block"

# Extra AI services (a company LLM gateway, a self-hosted OpenAI-compatible server), or a
# built-in one replaced by id. `egress-watch services` lists the catalog in force.
# [[services]]
# id = "corp-gateway"
# name = "Company LLM gateway"
# hosts = ["llm.corp.example", "*.llm.corp.example"]
# profile = "openai-compatible"     # /chat/completions, /responses, /messages, ...
# endpoints = [{ path = "/v2/generate", family = "openai-completions" }]
# family = "auto"                   # for other paths: sniff the body shape
# operator = "Example Corp"         # who runs it, and where (shown by `services`, the report)
# jurisdictions = ["US"]            # ISO codes of the operator and its parent; "SG?" = unconfirmed
# region = "EU"                     # CN-mainland, global, customer-chosen, unknown or a code
# may_train = "no"                  # yes, some-tiers, no, unknown (for [policy] training)
# An entry with a built-in id and no hosts amends that service, e.g. a region you confirmed:
# [[services]]
# id = "deepseek"
# status = "confirmed"

# Fleet export: the daemon delivers every event, in order and at least once, to each sink
# (schema egress-watch.event/1; never a secret value, a body or an auth header).
# `egress-watch export status` shows each sink's lag and errors.
# [export]
# drop_process_details = false      # true: no command lines, executable / working-dir paths
# max_backlog = 100000              # undelivered events kept while a sink is down
# [[export.sinks]]
# name = "siem"
# type = "syslog"                   # syslog | otlp | file | webhook
# url = "tls://logs.corp.example:6514"   # syslog: udp:// tcp:// tls://; otlp: http(s)://…/v1/logs
# format = "egress-watch"           # or "ocsf" (OCSF 1.3 Data Security Finding)
# ca_file = "/etc/ssl/corp-ca.pem"

# Your organisation's names, for the infra and marker categories (private IPs, *.internal URLs,
# CONFIDENTIAL-style labels, emails, phone, card numbers and IBANs are found without this).
[infra]
# Internal domains: any host name or URL in them is an infra finding, e.g. ["corp.example"].
domains = []
[markers]
# Codenames and other words that must not leave, e.g. ["Project Falcon"] (case-insensitive).
words = []
# Copyright holders: a "Copyright ... <name>" line is a marker finding, e.g. ["Acme Corp"].
copyright_holders = []

# Live verification of leaked secrets, OFF by default: when on, each newly seen secret is SENT
# TO ITS ISSUER (the provider's API, through kingfisher's validators) after the request was
# forwarded, once per value, to learn whether it is still active. Active values come first in
# the dashboard and the weekly report ("rotate now"). The value is never written anywhere.
[secrets]
verify = false
# Extra kingfisher rule files (YAML) for your own issuers; relative to this file's folder.
verify_rules = []
# Most verification requests started per minute.
verify_per_minute = 30
# Let validators reach private and loopback addresses (self-hosted issuers only).
verify_private_networks = false
"""


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

"""``[policy] restore``, ``redact_style`` and per-service ``restore``: validated apart (pure).

They sit in the ``[policy]`` table beside the levels, so they are taken out of it before the
levels are parsed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

REDACT_STYLES = ("bracketed", "stand-in")


def _no_services() -> Mapping[str, bool]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class RestorePolicy:
    """Whether answers get redacted values back, and what a redacted value is replaced with."""

    restore: bool = True
    """Put redacted values back into the answers (``[policy] restore``)."""
    redact_style: str = "bracketed"
    """``bracketed`` placeholders, or format-preserving ``stand-in`` values."""
    by_service: Mapping[str, bool] = field(default_factory=_no_services)
    """``[policy.services.<id>] restore``: a service's own switch."""

    def restores(self, service: str) -> bool:
        """Whether answers of ``service`` get redacted values back."""
        return self.by_service.get(service, self.restore)


def _switch(value: object, where: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{where}: expected true or false, got {value!r}")
    return value


def split_restore_keys(raw: object) -> tuple[object, RestorePolicy]:
    """``[policy]`` without the restore keys, and those keys validated.

    ValueError names the key (``policy.redact_style: …``). A table that is not a table is
    returned as it is, for the levels' parser to reject.
    """
    if not isinstance(raw, Mapping):
        return raw, RestorePolicy()
    rest: dict[str, Any] = dict(raw)
    restore = _switch(rest.pop("restore", True), "policy.restore")
    style = rest.pop("redact_style", "bracketed")
    if style not in REDACT_STYLES:
        choices = ", ".join(REDACT_STYLES)
        raise ValueError(f"policy.redact_style: expected one of {choices}, got {style!r}")
    by_service: dict[str, bool] = {}
    services = rest.get("services")
    if isinstance(services, Mapping):
        cleaned: dict[str, Any] = {}
        for service, table in services.items():
            if isinstance(table, Mapping) and "restore" in table:
                table = dict(table)
                where = f"policy.services.{service}.restore"
                by_service[service] = _switch(table.pop("restore"), where)
            cleaned[service] = table
        rest["services"] = cleaned
    return rest, RestorePolicy(restore, style, MappingProxyType(by_service))

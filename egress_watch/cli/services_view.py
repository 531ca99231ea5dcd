"""How ``egress-watch services`` shows a service and its facts (pure: text lines, JSON)."""

from __future__ import annotations

from typing import Any

from egress_watch.catalog.facts import Facts
from egress_watch.catalog.services import Service

STATUS_MARK = {
    "confirmed": "confirmed",
    "partial": "partly unconfirmed",
    "unconfirmed": "UNCONFIRMED",
}


def codes_text(facts: Facts) -> str:
    """``SG, CN`` with unconfirmed codes spelt out, ``?`` when none is known."""
    if not facts.jurisdictions:
        return "unknown"
    return ", ".join(
        f"{c.rstrip('?')} (unconfirmed)" if c.endswith("?") else c for c in facts.jurisdictions
    )


def region_text(region: str) -> str:
    return f"{region.rstrip('?')} (unconfirmed)" if region.endswith("?") else region


def facts_line(facts: Facts) -> str:
    """One line: operator, jurisdictions, region, may-train, status."""
    return (
        f"{facts.who} · jurisdictions {codes_text(facts)} · region {region_text(facts.region)}"
        f" · may train by default: {facts.may_train} · {STATUS_MARK[facts.status]}"
    )


def facts_diff(facts: Facts, base: Facts) -> str:
    """Only what a site changes from its service's facts, in ``facts_line``'s words."""
    parts = []
    if facts.who != base.who:
        parts.append(facts.who)
    if facts.jurisdictions != base.jurisdictions:
        parts.append(f"jurisdictions {codes_text(facts)}")
    if facts.region != base.region:
        parts.append(f"region {region_text(facts.region)}")
    if facts.may_train != base.may_train:
        parts.append(f"may train by default: {facts.may_train}")
    if facts.status != base.status:
        parts.append(STATUS_MARK[facts.status])
    return " · ".join(parts)


def _hosts_text(hosts: list[str], shown: int = 2) -> str:
    more = f" and {len(hosts) - shown} more" if len(hosts) > shown else ""
    return ", ".join(hosts[:shown]) + more


def service_lines(service: Service) -> list[str]:
    """The service's line, its facts, its sites' facts where they differ, and tier notes.

    Sites with the same facts share a line (a cloud's regions: one line per region)."""
    mark = " [telemetry]" if service.telemetry else ""
    listed = service.listed_hosts or service.hosts
    lines = [f"{service.id:<26} {service.name}{mark}: {', '.join(listed)}"]
    lines.append(f"{'':<26} {facts_line(service.facts)}")
    if service.notes:
        lines.append(f"{'':<26}   note: {service.notes}")
    for tier, note in service.facts.training:
        lines.append(f"{'':<26}   training ({tier}): {note}")
    grouped: dict[str, list[str]] = {}
    notes: dict[str, Facts] = {}
    for site in service.sites:
        line = facts_diff(site.facts, service.facts)
        if not line:
            continue
        grouped.setdefault(line, []).extend(site.hosts)
        notes.setdefault(line, site.facts)
    for line, hosts in grouped.items():
        lines.append(f"{'':<26} {_hosts_text(hosts)}: {line}")
        for tier, note in notes[line].training:
            if (tier, note) not in service.facts.training:
                lines.append(f"{'':<26}   training ({tier}): {note}")
    return lines


def service_json(service: Service) -> dict[str, Any]:
    """The service as ``services --json`` prints it: routing, then its facts and sites."""
    return {
        "id": service.id,
        "name": service.name,
        "hosts": list(service.hosts),
        "listed_hosts": list(service.listed_hosts or service.hosts),
        "family": service.family,
        "telemetry": service.telemetry,
        "endpoints": [
            {"path": e.path, "family": e.family, "telemetry": e.telemetry}
            for e in service.endpoints
        ],
        "notes": service.notes,
        **service.facts.as_json(),
        "sites": [{"hosts": list(site.hosts), **site.facts.as_json()} for site in service.sites],
    }

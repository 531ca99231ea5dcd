"""The report's "Where it went" section: traffic, secrets and proprietary files per jurisdiction
and per region, and the endpoints whose terms may train on requests by default.

Jurisdictions and regions come from the events (recorded from the catalog at request time);
whether an endpoint may train comes from the catalog in force when the report is made. Like the
rest of the report it reads only redacted columns: counts, service ids and host names.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from egress_watch.catalog.services import Catalog
from egress_watch.decide.outcome import outcome_sql
from egress_watch.store.sqlite import Database

UNKNOWN = "unknown"
"""Events recorded before jurisdictions were (no catalog facts at the time), or unknown ones."""

_IN_PERIOD = "e.ts >= :start AND e.ts < :end AND e.service != 'egress-watch-demo'"
"""The window; ``egress-watch demo``'s test events are never part of a report."""
_OUTCOME = outcome_sql("e", "f")

# Two passes over the window, grouped by destination (few groups); places are summed in Python,
# where one request counts under each of its codes and distinct values stay distinct per place.
TRAFFIC = f"""
SELECT coalesce(e.jurisdictions, '') AS codes, coalesce(e.region, '') AS region, e.service,
    e.host, count(*) AS requests,
    coalesce(sum(CASE WHEN e.action NOT IN ('block', 'failed') THEN e.bytes_out END), 0)
        AS bytes_out,
    sum(e.action = 'block') AS blocked
FROM events e WHERE {_IN_PERIOD} GROUP BY 1, 2, 3, 4
"""  # noqa: S608 - fixed text
FOUND = f"""
SELECT DISTINCT coalesce(e.jurisdictions, '') AS codes, coalesce(e.region, '') AS region,
    e.service, e.host, f.category,
    CASE WHEN f.category = 'secret' THEN f.fingerprint
         ELSE f.source_repo || ':' || f.source_path END AS value
FROM events e JOIN findings f ON f.event_id = e.id
WHERE {_IN_PERIOD} AND {_OUTCOME} = 'sent' AND (f.category = 'secret'
    OR (f.category = 'proprietary' AND f.source_path IS NOT NULL))
"""  # noqa: S608 - fixed text


@dataclass(frozen=True, slots=True)
class PlaceRow:
    """What went to one jurisdiction (operator's or parent's country) or one region."""

    name: str
    requests: int
    bytes_out: int
    blocked: int
    secrets: int
    proprietary_files: int
    services: tuple[str, ...]
    unconfirmed: int = 0
    """Requests counted here on an unconfirmed code (``"CN?"`` in the catalog)."""


@dataclass(frozen=True, slots=True)
class TrainingEndpoint:
    """An endpoint used this period whose terms may train on requests by default."""

    service: str
    host: str
    operator: str
    may_train: str
    requests: int
    bytes_out: int
    secrets: int
    terms: tuple[str, ...]
    """``tier: note`` lines from the catalog."""


@dataclass(frozen=True, slots=True)
class WhereItWent:
    jurisdictions: tuple[PlaceRow, ...] = ()
    regions: tuple[PlaceRow, ...] = ()
    training: tuple[TrainingEndpoint, ...] = field(default_factory=tuple)


@dataclass(slots=True)
class _Tally:
    requests: int = 0
    bytes_out: int = 0
    blocked: int = 0
    unconfirmed: int = 0
    services: set[str] = field(default_factory=set)
    secrets: set[str] = field(default_factory=set)
    files: set[str] = field(default_factory=set)

    def place(self, name: str) -> PlaceRow:
        return PlaceRow(
            name, self.requests, self.bytes_out, self.blocked, len(self.secrets),
            len(self.files), tuple(sorted(self.services)), self.unconfirmed,
        )  # fmt: skip


def _codes(raw: str) -> list[str]:
    """The stored codes of a destination (``["SG", "CN?"]``), or ``unknown`` when none."""
    codes = json.loads(raw) if raw else []
    return list(dict.fromkeys(codes)) or [UNKNOWN]


def _by_place(tallies: dict[str, _Tally]) -> tuple[PlaceRow, ...]:
    """Most requests first, unknown last."""
    rows = [tally.place(name) for name, tally in tallies.items()]
    return tuple(sorted(rows, key=lambda r: (r.name == UNKNOWN, -r.requests, r.name)))


def assemble_where(
    traffic: list[dict[str, Any]], found: list[dict[str, Any]], catalog: Catalog
) -> WhereItWent:
    """The section from the grouped rows (pure): places, then endpoints that may train."""
    codes: dict[str, _Tally] = defaultdict(_Tally)
    regions: dict[str, _Tally] = defaultdict(_Tally)
    endpoints: dict[tuple[str, str], _Tally] = defaultdict(_Tally)
    for row in traffic:
        region = row["region"] or UNKNOWN
        targets = [(codes[c.rstrip("?")], c.endswith("?")) for c in _codes(row["codes"])]
        targets += [(regions[region], False), (endpoints[row["service"], row["host"]], False)]
        for tally, unconfirmed in targets:
            tally.requests += int(row["requests"])
            tally.bytes_out += int(row["bytes_out"])
            tally.blocked += int(row["blocked"] or 0)
            tally.unconfirmed += int(row["requests"]) if unconfirmed else 0
            tally.services.add(row["service"])
    for row in found:
        region = row["region"] or UNKNOWN
        places = [codes[c.rstrip("?")] for c in _codes(row["codes"])]
        places += [regions[region], endpoints[row["service"], row["host"]]]
        for place in places:
            (place.secrets if row["category"] == "secret" else place.files).add(row["value"])
    return WhereItWent(_by_place(codes), _by_place(regions), _training(endpoints, catalog))


def _training(
    endpoints: dict[tuple[str, str], _Tally], catalog: Catalog
) -> tuple[TrainingEndpoint, ...]:
    out = []
    for (service_id, host), tally in sorted(endpoints.items(), key=lambda i: -i[1].requests):
        service = catalog.service(service_id)
        facts = service.facts_for(host) if service is not None else None
        if facts is None or not facts.trains_by_default:
            continue
        terms = tuple(f"{tier}: {note}" for tier, note in facts.training)
        out.append(
            TrainingEndpoint(
                service_id,
                host,
                facts.who,
                facts.may_train,
                tally.requests,
                tally.bytes_out,
                len(tally.secrets),
                terms,
            )
        )
    return tuple(out)


def read_where(db: Database, start_iso: str, end_iso: str, catalog: Catalog) -> WhereItWent:
    """The section for ``[start, end)``: two grouped queries, then the catalog's terms."""
    params = {"start": start_iso, "end": end_iso}
    traffic = [dict(row) for row in db.query(TRAFFIC, params)]
    found = [dict(row) for row in db.query(FOUND, params)]
    return assemble_where(traffic, found, catalog)


# ------------------------------------------------------------------ shared by every format

TITLE = "Where it went"
PLACE_COLUMNS = ("Requests", "Bytes sent", "Blocked", "Secrets", "Proprietary files", "Services")
TRAINING_COLUMNS = ("Service", "Host", "Operator", "May train", "Requests", "Bytes sent", "Secrets")
NUMERIC = frozenset({"Requests", "Bytes sent", "Blocked", "Secrets", "Proprietary files"})
INTRO = (
    "Jurisdictions are the countries of each service's operator and of its ultimate parent (a "
    "request to a Singapore subsidiary of a Chinese group counts under SG and CN); regions are "
    "where the host processes requests. Facts marked unconfirmed in the catalog are counted "
    "and flagged. Source: `egress-watch services`."
)


def place_name(row: PlaceRow, kind: str) -> str:
    if row.name == UNKNOWN:
        return f"{kind} unknown"
    return f"{row.name} ({row.unconfirmed} unconfirmed)" if row.unconfirmed else row.name


def place_cells(row: PlaceRow, human_bytes: Any) -> list[str]:
    return [
        str(row.requests),
        human_bytes(row.bytes_out),
        str(row.blocked),
        str(row.secrets),
        str(row.proprietary_files),
        ", ".join(row.services),
    ]


def training_cells(row: TrainingEndpoint, human_bytes: Any) -> list[str]:
    return [
        row.service,
        row.host,
        row.operator,
        row.may_train,
        str(row.requests),
        human_bytes(row.bytes_out),
        str(row.secrets),
    ]

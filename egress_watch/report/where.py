"""The report's "Where it went" section: traffic, secrets and proprietary files per jurisdiction
and per region, and the endpoints whose terms may train on requests by default.

Jurisdictions and regions come from the events (recorded from the catalog at request time);
whether an endpoint may train comes from the catalog in force when the report is made. Like the
rest of the report it reads only redacted columns: counts, service ids and host names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlite_utils import Database

from egress_watch.services import Catalog

UNKNOWN = "unknown"
"""Events recorded before jurisdictions were (no catalog facts at the time), or unknown ones."""

_IN_PERIOD = "e.ts >= :start AND e.ts < :end"
_CODES = "json_each(coalesce(nullif(e.jurisdictions, ''), '[\"unknown\"]')) j"
_REGION = "coalesce(nullif(e.region, ''), 'unknown')"

TRAFFIC_BY_JURISDICTION = f"""
SELECT rtrim(j.value, '?') AS name, count(DISTINCT e.id) AS requests,
    coalesce(sum(e.bytes_out), 0) AS bytes_out, sum(e.action = 'block') AS blocked,
    count(DISTINCT CASE WHEN j.value LIKE '%?' THEN e.id END) AS unconfirmed,
    json_group_array(DISTINCT e.service) AS services
FROM events e, {_CODES} WHERE {_IN_PERIOD} GROUP BY 1
"""  # noqa: S608 - fixed text
TRAFFIC_BY_REGION = f"""
SELECT {_REGION} AS name, count(*) AS requests, coalesce(sum(e.bytes_out), 0) AS bytes_out,
    sum(e.action = 'block') AS blocked, 0 AS unconfirmed,
    json_group_array(DISTINCT e.service) AS services
FROM events e WHERE {_IN_PERIOD} GROUP BY 1
"""  # noqa: S608 - fixed text
_FOUND = """
    count(DISTINCT CASE WHEN f.category = 'secret' THEN f.fingerprint END) AS secrets,
    count(DISTINCT CASE WHEN f.category = 'proprietary' AND f.source_path IS NOT NULL
        THEN f.source_repo || ':' || f.source_path END) AS files
"""
FOUND_BY_JURISDICTION = f"""
SELECT rtrim(j.value, '?') AS name, {_FOUND}
FROM events e JOIN findings f ON f.event_id = e.id, {_CODES} WHERE {_IN_PERIOD} GROUP BY 1
"""  # noqa: S608 - fixed text
FOUND_BY_REGION = f"""
SELECT {_REGION} AS name, {_FOUND}
FROM events e JOIN findings f ON f.event_id = e.id WHERE {_IN_PERIOD} GROUP BY 1
"""  # noqa: S608 - fixed text
ENDPOINTS = f"""
SELECT e.service, e.host, count(*) AS requests, coalesce(sum(e.bytes_out), 0) AS bytes_out,
    (SELECT count(DISTINCT f.fingerprint) FROM events x JOIN findings f ON f.event_id = x.id
     WHERE x.service = e.service AND x.host = e.host AND x.ts >= :start AND x.ts < :end
       AND f.category = 'secret') AS secrets
FROM events e WHERE {_IN_PERIOD} GROUP BY 1, 2 ORDER BY requests DESC, e.service, e.host
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


def _places(traffic: list[dict[str, Any]], found: list[dict[str, Any]]) -> tuple[PlaceRow, ...]:
    """Join traffic and findings by name; most requests first, unknown last."""
    by_name = {row["name"]: row for row in found}
    rows = [
        PlaceRow(
            name=row["name"],
            requests=int(row["requests"]),
            bytes_out=int(row["bytes_out"]),
            blocked=int(row["blocked"] or 0),
            secrets=int(by_name.get(row["name"], {}).get("secrets", 0)),
            proprietary_files=int(by_name.get(row["name"], {}).get("files", 0)),
            services=tuple(sorted(set(row["services"]))),
            unconfirmed=int(row["unconfirmed"] or 0),
        )
        for row in traffic
    ]
    return tuple(sorted(rows, key=lambda r: (r.name == UNKNOWN, -r.requests, r.name)))


def _training(endpoints: list[dict[str, Any]], catalog: Catalog) -> tuple[TrainingEndpoint, ...]:
    out = []
    for row in endpoints:
        service = catalog.service(row["service"])
        if service is None:
            continue
        facts = service.facts_for(row["host"])
        if not facts.trains_by_default:
            continue
        out.append(
            TrainingEndpoint(
                service=row["service"],
                host=row["host"],
                operator=facts.who,
                may_train=facts.may_train,
                requests=int(row["requests"]),
                bytes_out=int(row["bytes_out"]),
                secrets=int(row["secrets"] or 0),
                terms=tuple(f"{tier}: {note}" for tier, note in facts.training),
            )
        )
    return tuple(out)


def _rows(db: Database, sql: str, params: dict[str, str]) -> list[dict[str, Any]]:
    import json

    rows = [dict(row) for row in db.query(sql, params)]
    for row in rows:
        if isinstance(row.get("services"), str):
            row["services"] = json.loads(row["services"])
    return rows


def read_where(db: Database, start_iso: str, end_iso: str, catalog: Catalog) -> WhereItWent:
    """The section for ``[start, end)``: the queries, then the catalog's training terms."""
    params = {"start": start_iso, "end": end_iso}
    return WhereItWent(
        jurisdictions=_places(
            _rows(db, TRAFFIC_BY_JURISDICTION, params), _rows(db, FOUND_BY_JURISDICTION, params)
        ),
        regions=_places(_rows(db, TRAFFIC_BY_REGION, params), _rows(db, FOUND_BY_REGION, params)),
        training=_training(_rows(db, ENDPOINTS, params), catalog),
    )


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

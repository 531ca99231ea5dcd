"""The exported event: one versioned JSON shape, and its OCSF Data Security Finding variant.

Schema ``egress-watch.event/1`` (documented in the README's "Fleet set-up"): workstation
identity, time, service, host, endpoint, model, action, severity, process chain and the
redacted findings. Built from the stored (already redacted) Event only, so it can hold no
secret value, request body or auth header: masked previews and keyed fingerprints instead.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from egress_watch import __version__
from egress_watch.decide.outcome import Outcome, finding_outcome
from egress_watch.model import Action, Event, Finding, Severity
from egress_watch.shapes import finding_json

SCHEMA = "egress-watch.event/1"
OCSF_VERSION = "1.3.0"
PRODUCT = "egress-watch"


@dataclass(frozen=True, slots=True)
class Identity:
    """Which workstation an event comes from."""

    hostname: str
    user: str
    install_id: str


def install_id(hmac_key: bytes) -> str:
    """A stable id per install, derived from the fingerprint key (reveals nothing about it)."""
    return hmac.new(hmac_key, b"egress-watch install id", hashlib.sha256).hexdigest()[:16]


def event_uid(identity: Identity, event_id: int) -> str:
    """Globally unique event id: receivers drop duplicates (delivery is at least once) on it."""
    return f"{identity.install_id}-{event_id}"


def _finding(finding: Finding, action: Action, drop_paths: bool) -> dict[str, Any]:
    """The ``scan --json`` finding plus where it sat in the request and whether it left."""
    found = finding_json(finding)
    found.update(
        outcome=finding_outcome(action, finding.stopped).value,
        segment_index=finding.segment_index,
        role=finding.role or None,
        message_index=finding.message_index,
        reason=finding.reason or None,
        path_hint=None if drop_paths else finding.path_hint,
    )
    if drop_paths and "source" in found:
        found["source"] = {k: v for k, v in found["source"].items() if k not in ("repo", "path")}
    return found


def _process(event: Event, drop_paths: bool) -> dict[str, Any] | None:
    """The sending process; paths and the command line only when not dropped."""
    process = event.process
    if process is None:
        return None
    shown: dict[str, Any] = {
        "pid": process.pid,
        "name": process.name,
        "tool": process.tool_or_name,
        "parents": list(process.parents),
    }
    if not drop_paths:
        shown.update(exe=process.exe, cmdline=process.cmdline, cwd=process.cwd, repo=process.repo)
    return shown


def export_record(
    event_id: int, event: Event, identity: Identity, drop_paths: bool = False
) -> dict[str, Any]:
    """The ``egress-watch.event/1`` record; ``drop_paths`` leaves out command lines and paths."""
    severity = event.severity
    return {
        "schema": SCHEMA,
        "uid": event_uid(identity, event_id),
        "event_id": event_id,
        "time": event.timestamp,
        "workstation": {
            "hostname": identity.hostname,
            "user": identity.user,
            "install_id": identity.install_id,
        },
        "service": event.service,
        "family": event.family,
        "host": event.host,
        "jurisdictions": list(event.jurisdictions),
        "region": event.region,
        "method": event.method,
        "endpoint": event.path.split("?", 1)[0],
        "model": event.model,
        "action": event.action.value,
        "severity": severity.label if severity else None,
        "bytes_out": event.bytes_out,
        "segment_count": event.segment_count,
        "uninspected_reason": event.uninspected_reason,
        "error": event.error,
        "tool": event.process.tool_or_name if event.process else None,
        "process": _process(event, drop_paths),
        "categories": sorted({f.category.value for f in event.findings}),
        "rules": sorted({f.rule for f in event.findings}),
        "findings": [_finding(f, event.action, drop_paths) for f in event.findings],
        "values_left": len(
            {
                f.fingerprint
                for f in event.findings
                if finding_outcome(event.action, f.stopped) is Outcome.SENT
            }
        ),
    }


_OCSF_SEVERITY = {
    None: 1,
    Severity.LOW: 2,
    Severity.MEDIUM: 3,
    Severity.HIGH: 4,
    Severity.CRITICAL: 5,
}
_OCSF_ACTION = {
    "pass": (1, "Allowed"),
    "block": (2, "Denied"),
    "redact": (4, "Modified"),
    "failed": (99, "Other"),
}


def ocsf_record(
    event_id: int, event: Event, identity: Identity, drop_paths: bool = False
) -> dict[str, Any]:
    """The event as an OCSF 1.3 Data Security Finding (class 2006), for SIEMs that map OCSF."""
    native = export_record(event_id, event, identity, drop_paths)
    severity = event.severity
    action_id, action = _OCSF_ACTION.get(event.action.value, (0, "Unknown"))
    millis = int(datetime.fromisoformat(event.timestamp).timestamp() * 1000)
    worst = max(event.findings, key=lambda f: f.severity, default=None)
    title = (
        f"{len(event.findings)} finding(s) sent to {event.service}: {', '.join(native['rules'])}"
        if worst
        else f"request to {event.service}"
    )
    process = native["process"] or {}
    return {
        "class_uid": 2006,
        "class_name": "Data Security Finding",
        "category_uid": 2,
        "category_name": "Findings",
        "activity_id": 1,
        "activity_name": "Create",
        "type_uid": 200601,
        "severity_id": _OCSF_SEVERITY[severity],
        "severity": severity.label.capitalize() if severity else "Informational",
        "status_id": 1,
        "status": "New",
        "action_id": action_id,
        "action": action,
        "time": millis,
        "metadata": {
            "version": OCSF_VERSION,
            "uid": native["uid"],
            "log_name": SCHEMA,
            "product": {"name": PRODUCT, "vendor_name": PRODUCT, "version": __version__},
        },
        "finding_info": {
            "uid": native["uid"],
            "title": title,
            "created_time": millis,
            "types": native["categories"],
        },
        "device": {"hostname": identity.hostname, "uid": identity.install_id, "type_id": 2},
        "actor": {
            "user": {"name": identity.user},
            "process": {
                k: v
                for k, v in {
                    "pid": process.get("pid"),
                    "name": process.get("name"),
                    "cmd_line": process.get("cmdline"),
                    "file": {"path": process["exe"]} if process.get("exe") else None,
                }.items()
                if v is not None
            },
        },
        "dst_endpoint": {"hostname": event.host, "svc_name": event.service},
        "data_security": {
            "detection_system_id": 99,
            "detection_system": PRODUCT,
            "detection_pattern": worst.rule if worst else None,
            "data_lifecycle_state_id": 2,
            "data_lifecycle_state": "Data in Transit",
        },
        "unmapped": {
            k: native[k] for k in ("endpoint", "method", "model", "bytes_out", "findings")
        },
    }


BUILDERS = {"egress-watch": export_record, "ocsf": ocsf_record}

"""The JSON shapes other tools rely on (DESIGN.md's contracts), built in one place."""

from __future__ import annotations

from typing import Any

from egress_watch.model import Finding


def finding_json(finding: Finding) -> dict[str, Any]:
    """A finding as ``scan --json`` prints it: offsets, mask and fingerprint, never the value.

    ``source`` appears only for proprietary-code matches.
    """
    found: dict[str, Any] = {
        "category": finding.category.value,
        "rule": finding.rule,
        "severity": finding.severity.label,
        "start": finding.start,
        "end": finding.end,
        "masked": finding.masked,
        "fingerprint": finding.fingerprint,
        "confidence": finding.confidence,
        "reason": finding.reason,
    }
    if finding.source is not None:
        source = finding.source
        found["source"] = {
            "repo": source.repo,
            "path": source.path,
            "start_line": source.start_line,
            "end_line": source.end_line,
            "score": source.score,
        }
    return found

"""Text a tool sends with every request, which is not the user's data: not reported.

Claude Code's tool definitions and its own reminders tell the model to sign commits
``Co-Authored-By: Claude <noreply@anthropic.com>``, so every request would carry a PII finding.
Such values are known per tool and dropped where the tool itself writes them: anywhere in a
request the tool sent (its process was named that tool), else only in tool definitions and
system prompts. The same address typed into another tool's prompt is still reported.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from egress_watch.model import Finding, Segment

KNOWN: Mapping[str, tuple[str, ...]] = {
    "claude": ("noreply@anthropic.com",),
}
"""Per tool: values its own instructions carry (checked against the CLI's real requests)."""

TOOL_ROLES = frozenset({"tool_definition", "system"})
"""Segment roles the tool writes itself, where its boilerplate lives."""


def without_boilerplate(
    findings: Sequence[Finding],
    segments: Sequence[Segment],
    known: Mapping[str, frozenset[str]],
    tool: str | None = None,
) -> list[Finding]:
    """The findings minus known boilerplate: ``known`` maps a tool to its values' fingerprints."""
    own = known.get(tool or "", frozenset())
    anyone = frozenset().union(*known.values()) if known else frozenset()
    return [
        f
        for f in findings
        if f.fingerprint not in own
        and (f.fingerprint not in anyone or segments[f.segment_index].role not in TOOL_ROLES)
    ]

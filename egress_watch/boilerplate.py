"""Text a tool sends with every request, which is not the user's data: not reported.

Claude Code's tool definitions tell the model to sign commits ``Co-Authored-By: Claude
<noreply@anthropic.com>``, so every request would carry a PII finding. Such values are known per
tool and dropped only where the tool itself writes them (tool definitions and system prompts):
the same address typed into a prompt or read from a file is still reported.
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
    findings: Sequence[Finding], segments: Sequence[Segment], known: frozenset[str]
) -> list[Finding]:
    """The findings minus known boilerplate values sitting in the tool's own text."""
    return [
        f
        for f in findings
        if f.fingerprint not in known or segments[f.segment_index].role not in TOOL_ROLES
    ]

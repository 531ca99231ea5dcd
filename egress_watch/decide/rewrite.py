"""Redaction in flight: replace each finding's value inside the JSON string it came from (pure).

Segments remember the JSON path of their string, so the rewrite touches exactly those strings
and the request stays valid for its API; the caller re-serializes and re-encodes the body.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from egress_watch.masking import short_fingerprint
from egress_watch.model import Finding, JsonPath, Segment


def placeholder(finding: Finding, value: str = "") -> str:
    """What replaces a value: names the rule and a short fingerprint, never the value."""
    return f"[REDACTED:{finding.rule}:{short_fingerprint(finding.fingerprint)}]"


Namer = Callable[[Finding, str], str]
"""Names the placeholder of a finding, given the value it replaces."""


def redact_text(text: str, findings: Sequence[Finding], name: Namer = placeholder) -> str:
    """Replace every finding's span in ``text``; overlapping spans collapse into the first."""
    pieces: list[str] = []
    cursor = 0
    for finding in sorted(findings, key=lambda f: (f.start, -f.end)):
        if finding.end <= cursor:
            continue  # inside a span already replaced
        pieces.append(text[cursor : max(cursor, finding.start)])
        pieces.append(name(finding, text[finding.start : finding.end]))
        cursor = finding.end
    pieces.append(text[cursor:])
    return "".join(pieces)


def _copy_along(document: Any, path: JsonPath, copied: set[int]) -> Any:
    """Copy the containers on ``path`` (once each) so setting a value leaves ``document`` as it
    was; no recursion, so the depth of the rest of the document does not matter."""
    root = document
    if id(root) not in copied:
        root = root.copy() if isinstance(root, (dict, list)) else root
        copied.add(id(root))
    parent = root
    for key in path[:-1]:
        child = parent[key]
        if id(child) not in copied:
            child = child.copy()
            copied.add(id(child))
            parent[key] = child
        parent = child
    return root


def _set_path(document: Any, path: JsonPath, value: str, copied: set[int]) -> Any:
    if not path:
        return value
    root = _copy_along(document, path, copied)
    parent = root
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    return root


def redact_document(
    document: Any,
    segments: Sequence[Segment],
    findings: Sequence[Finding],
    name: Namer = placeholder,
) -> Any:
    """A copy of ``document`` with every finding replaced in its segment's string.

    A segment's origin is the JSON path of its string; the empty path is the whole document.
    """
    by_segment: dict[int, list[Finding]] = defaultdict(list)
    for finding in findings:
        by_segment[finding.segment_index].append(finding)
    rewritten = document
    copied: set[int] = set()
    for index, segment_findings in by_segment.items():
        segment = segments[index]
        text = redact_text(segment.text, segment_findings, name)
        rewritten = _set_path(rewritten, segment.origin, text, copied)
    return rewritten


def redacted_body(
    document: Any,
    segments: Sequence[Segment],
    findings: Sequence[Finding],
    is_json: bool,
    charset: str = "utf-8",
    name: Namer = placeholder,
) -> bytes:
    """The new request body: JSON re-serialized compactly, or the redacted plain text, encoded
    in the body's own charset (placeholders are ASCII, the rest was decoded from it)."""
    if not is_json:
        text = segments[0].text if segments else ""
        return redact_text(text, [f for f in findings if f.segment_index == 0], name).encode(
            charset
        )
    rewritten = redact_document(document, segments, findings, name)
    try:
        return json.dumps(rewritten, ensure_ascii=False, separators=(",", ":")).encode(charset)
    except UnicodeEncodeError:
        # Lone surrogates (``"\\ud800"`` in the original) have no encoding but their escape.
        return json.dumps(rewritten, separators=(",", ":")).encode(charset)

"""Fallback extractor: every string leaf of a JSON document, minus binary blobs and ids."""

from __future__ import annotations

import re
from typing import Any

from egress_watch.model import JsonPath, Segment

# Keys whose values are media or opaque blobs, never prompt text.
SKIPPED_KEYS = frozenset(
    {
        "data",
        "bytes",
        "audio",
        "image_url",
        "signature",
        "encrypted_content",
        "thoughtSignature",
        "thought_signature",
        "file_data",
        "b64_json",
    }
)
# Keys of typed blocks whose values are enums and ids, not text (skipped inside known shapes).
STRUCTURAL_KEYS = SKIPPED_KEYS | {
    "type",
    "id",
    "call_id",
    "tool_use_id",
    "toolUseId",
    "status",
    "mime_type",
    "mimeType",
    "media_type",
    "cache_control",
}
_BASE64_BLOB = re.compile(r"^(?:data:[\w/+.-]+;base64,)?[A-Za-z0-9+/=\r\n]{512,}$")


def is_blob(text: str) -> bool:
    """True for long base64 runs and data URLs, which carry media rather than text."""
    return len(text) >= 512 and _BASE64_BLOB.match(text) is not None


def walk_strings(
    node: Any, path: JsonPath = (), skip: frozenset[str] = SKIPPED_KEYS
) -> list[tuple[JsonPath, str]]:
    """Every (path, string) leaf under ``node``, depth first, skipping blobs and ``skip`` keys."""
    found: list[tuple[JsonPath, str]] = []
    stack: list[tuple[JsonPath, Any]] = [(path, node)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, str):
            if value and not is_blob(value):
                found.append((where, value))
        elif isinstance(value, dict):
            items = [(k, v) for k, v in value.items() if k not in skip]
            stack.extend(((*where, k), v) for k, v in reversed(items))
        elif isinstance(value, list):
            stack.extend(((*where, i), v) for i, v in reversed(list(enumerate(value))))
    return found


def extract_strings(document: Any, role: str = "other") -> list[Segment]:
    """All readable strings of the document as segments of one role."""
    return [Segment(role, text, where) for where, text in walk_strings(document)]


def text_segment(
    role: str, text: Any, where: JsonPath, index: int | None = None, hint: str | None = None
) -> list[Segment]:
    """A one-segment list for a readable string, or nothing for empty values and blobs."""
    if not isinstance(text, str) or not text or is_blob(text):
        return []
    return [Segment(role, text, where, index, hint)]


def leaf_segments(
    node: Any, role: str, where: JsonPath, index: int | None = None, hint: str | None = None
) -> list[Segment]:
    """Every readable string under ``node`` as segments of one role, minus enums and ids."""
    leaves = walk_strings(node, where, STRUCTURAL_KEYS)
    return [Segment(role, text, path, index, hint) for path, text in leaves]

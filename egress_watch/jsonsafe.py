"""JSON parsing that never recurses past a fixed depth (pure).

``json.loads`` and every walker after it (copying, re-serializing) recurse once per level, so a
hostile body of 10,000 nested arrays raises RecursionError. The depth is measured first, in
one linear pass that skips string contents, and a document deeper than ``MAX_JSON_DEPTH`` is
refused with ``TooDeep`` (a ValueError, so callers that treat "not JSON" as plain text keep
scanning it as text).
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_JSON_DEPTH = 128
"""Far deeper than any API body or tool schema, far below Python's recursion limit."""

# A whole JSON string (possessive, so a long string costs one linear pass), or one bracket.
_TOKEN = re.compile(r'"(?:[^"\\]++|\\.)*+"|[\[\]{}]', re.DOTALL)


class TooDeep(ValueError):
    """The text nests arrays and objects deeper than the limit."""


def nesting_depth(text: str, limit: int = MAX_JSON_DEPTH) -> int:
    """The deepest bracket nesting outside strings, counting stops once past ``limit``."""
    depth = deepest = 0
    for match in _TOKEN.finditer(text):
        char = match.group()[0]
        if char in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    break
        elif char in "]}":
            depth = max(0, depth - 1)
    return deepest


def loads(text: str | bytes, limit: int = MAX_JSON_DEPTH) -> Any:
    """``json.loads`` that raises TooDeep (never RecursionError) for over-deep documents."""
    as_text = text.decode("utf-8") if isinstance(text, bytes) else text
    depth = nesting_depth(as_text, limit)
    if depth > limit:
        raise TooDeep(f"JSON nested deeper than {limit} levels")
    return json.loads(as_text)

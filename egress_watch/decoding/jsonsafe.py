"""JSON parsing that never recurses past a fixed depth (pure).

``json.loads`` and every walker after it (copying, re-serializing) recurse once per level, so a
hostile body of 10,000 nested arrays raises RecursionError. The depth is measured first, in
one linear pass that skips string contents, and a document deeper than ``MAX_JSON_DEPTH`` is
refused with ``TooDeep`` (a ValueError, so callers that treat "not JSON" as plain text keep
scanning it as text).
"""

from __future__ import annotations

import json
from itertools import accumulate
from typing import Any

MAX_JSON_DEPTH = 128
"""Far deeper than any API body or tool schema, far below Python's recursion limit."""

_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


class TooDeep(ValueError):
    """The text nests arrays and objects deeper than the limit."""


def nesting_depth(text: str) -> int:
    """The deepest bracket nesting outside strings, in passes that all run in C.

    Escape pairs go first, so every quote left delimits a string; the text between every
    other quote is outside strings. A closing bracket too many makes the text invalid JSON
    right there, so the parser stops before any later nesting: the running maximum is still
    an upper bound of the depth it reaches.
    """
    unescaped = text.replace("\\\\", "").replace('\\"', "")
    outside = "".join(unescaped.split('"')[0::2])
    brackets = outside.encode("utf-8", "surrogatepass").translate(None, _NOT_BRACKETS)
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def loads(text: str | bytes, limit: int = MAX_JSON_DEPTH) -> Any:
    """``json.loads`` that raises TooDeep (never RecursionError) for over-deep documents."""
    as_text = text.decode("utf-8") if isinstance(text, bytes) else text
    opened = as_text.count("[") + as_text.count("{")  # a quick bound that usually settles it
    if opened > limit and nesting_depth(as_text) > limit:
        raise TooDeep(f"JSON nested deeper than {limit} levels")
    return json.loads(as_text)

"""Values that look like secrets but are not: documented examples, templates, fake fillers."""

from __future__ import annotations

import re
import string
from typing import Final

_PLACEHOLDER: Final = re.compile(
    r"example|placeholder|changeme|change[_-]me|redacted|dummy|\byour|<[^>]*>|\$\{|\{\{|%\(|"
    r"x{6,}|\*{3,}|\.\.\.|\u2026",
    re.IGNORECASE,
)
_PLACEHOLDER_WORDS: Final = frozenset(
    {"password", "passwd", "pass", "secret", "token", "apikey", "key", "test", "testing", "fake"}
    | {"sample", "none", "null", "nil", "undefined", "true", "false", "string", "str", "value"}
)
_NON_ALNUM: Final = re.compile(r"[^A-Za-z0-9]+")
_U, _D, _HEX = string.ascii_uppercase, string.digits, string.hexdigits.upper()
# The sequences of detect-secrets' heuristic.is_sequential_string, upper-cased.
_SEQUENCES: Final = (
    _U + _U + _D + "+/",
    _D + _U + _U + "+/",
    (_D + _U) * 2,
    _D * 2,
    _HEX + _HEX,
    _U + "=/",
)


def is_placeholder(value: str) -> bool:
    """Documented examples, templates and obviously fake values are not secrets."""
    core = _NON_ALNUM.sub("", value[:512]).lower()
    if not core or core in _PLACEHOLDER_WORDS or _PLACEHOLDER.search(value):
        return True
    most = max(core.count(c) for c in set(core))
    return (len(core) >= 8 and 2 * most >= len(core)) or _is_sequential(core)


def _is_sequential(core: str) -> bool:
    """``ABCDEFGH…`` or ``12345678…`` after a short prefix such as ``AKIA`` or ``sk``."""
    upper = core.upper()
    return any(
        upper[i:] in sequence
        for i in range(min(8, max(1, len(core) - 11)))
        for sequence in _SEQUENCES
    )

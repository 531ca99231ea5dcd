"""Value spans: turn a detect-secrets regex match into exactly the secret's characters.

The plugins' regexes often include delimiters or stop early (a JWT without its signature, a
GitHub token reduced to ``ghp``); these functions pick the value itself.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Iterable
from typing import Final

Span = Callable[[re.Match[str]], tuple[int, int]]
_JWT_SIGNATURE: Final = re.compile(r"[A-Za-z0-9_-]*")
_TOKEN_RUN: Final = re.compile(r"[A-Za-z0-9_-]*")


_DOTTED_CAPITAL_I: Final = "\u0130"  # the one character whose str.lower() is two characters
_ASCII_LOWER: Final = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def lower_same_length(text: str) -> str:
    """Lower-cased text with the same offsets, so a match in it is a match in ``text``.

    ``str.lower`` turns "\u0130" (Turkish dotted capital I) into two characters; it becomes a plain
    "i" first, which keeps every offset and costs one ``str.replace``, not a slow translate.
    """
    if _DOTTED_CAPITAL_I in text:
        text = text.replace(_DOTTED_CAPITAL_I, "i")
    lowered = text.lower()
    # Another lengthening character would come from a future Unicode version: ASCII still lowers.
    return lowered if len(lowered) == len(text) else text.translate(_ASCII_LOWER)


def skip(pattern: re.Pattern[str], text: str, pos: int) -> int:
    """Where a run of ``pattern`` starting at ``pos`` ends (``pos`` if there is none)."""
    m = pattern.match(text, pos)
    return pos if m is None else m.end()


def value_span(m: re.Match[str]) -> tuple[int, int]:
    """detect-secrets' own choice: the widest capture group if the regex has any, else the match."""
    groups = [m.span(g) for g in range(1, m.re.groups + 1) if m.start(g) < m.end(g)]
    return max(groups, key=lambda span: span[1] - span[0]) if groups else m.span()


def match_span(m: re.Match[str]) -> tuple[int, int]:
    """The whole match: the plugin's capture group is only the token prefix (e.g. ``ghp``)."""
    return m.span()


def jwt_span(m: re.Match[str]) -> tuple[int, int]:
    """The plugin's lazy regex stops before the signature; take the signature too."""
    end = m.end()
    if m.group().endswith("."):
        end = skip(_JWT_SIGNATURE, m.string, end)
    return m.start(), end


def strip_span(m: re.Match[str]) -> tuple[int, int]:
    """The match without the delimiters the plugin's regex includes around the token."""
    start, end = m.span()
    while start < end and m.string[start] in ' \t=:"':
        start += 1
    while end > start and m.string[end - 1] in ' \t"':
        end -= 1
    return start, end


def after_eq_span(m: re.Match[str]) -> tuple[int, int]:
    """The value after ``Name=``."""
    return m.string.index("=", m.start()) + 1, m.end()


def npm_span(m: re.Match[str]) -> tuple[int, int]:
    """The token only: the plugin's ``npm_.+`` runs to the end of the line."""
    start, _ = value_span(m)
    return start, skip(_TOKEN_RUN, m.string, start)


_CONTINUATION: Final = bytes(range(0x80, 0xC0))


def char_offsets(data: bytes, offsets: Iterable[int], ascii_only: bool) -> dict[int, int]:
    """UTF-8 byte offsets -> character offsets, in one pass over the text (offsets sorted)."""
    if ascii_only:
        return {o: o for o in offsets}
    result: dict[int, int] = {}
    byte_at, char_at = 0, 0
    for offset in sorted(set(offsets)):
        char_at += len(data[byte_at:offset].translate(None, _CONTINUATION))
        byte_at = offset
        result[offset] = char_at
    return result

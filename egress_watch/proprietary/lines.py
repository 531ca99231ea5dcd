"""Line fingerprints: a C-speed first look at long texts before tokenizing any of them.

Tokenizing is the expensive part of matching, and a long tool result (a file an agent read,
a log) is rarely the user's code. Every indexed file also stores the CRC32 of its normalised
lines; a long text is tokenized only around lines whose CRC32 the index knows. Normalising
drops whitespace, trailing comments and the quote style, so re-indented, re-spaced,
re-quoted and re-commented copies keep their lines. The same function reads both sides, so
whatever it gets wrong it gets wrong identically.
"""

from __future__ import annotations

import re
import zlib
from array import array
from bisect import bisect_left
from dataclasses import dataclass

MIN_LINE_BYTES = 16
"""Shorter normalised lines (``return x``, ``}``, ``else:``) are everywhere: not evidence."""
_TRAILING_COMMENT = re.compile(r"[ \t](?:#|//)[^\n]*")
_IMPORT_LINE = re.compile(
    r"^[ \t]*(?:(?:from[ \t]+\S+[ \t]+)?import[ \t]|\#[ \t]*include|(?:pub[ \t]+)?use[ \t]"
    r"|package[ \t]|(?:const|let|var)[ \t][^=\n]*=[ \t]*require\()[^\n]*",
    re.M,
)
"""Import lines say nothing about whose code it is (the tokenizer drops them too)."""
_QUOTES = bytes.maketrans(b"'", b'"')
_BLANKS = b" \t\r\f\v"
HASH_SIGN = ord("#")
"""Lines starting with ``#`` or ``//`` once squeezed are comments (licence headers, ...)."""
CLUSTER_GAP = 8
"""Known lines this close together belong to one excerpt."""
CONTEXT_LINES = 15
"""Lines tokenized around a cluster of known lines, so the whole excerpt is matched."""


def line_hashes(text: str, indexing: bool = False) -> list[tuple[int, int]]:
    """(0-based line number, CRC32) of every long-enough normalised line of ``text``.

    When ``indexing``, import lines are left out, so they are never known lines; a query
    need not spend time finding them (an unknown line is not a hit either way).
    """
    if indexing:
        text = _IMPORT_LINE.sub("", text)
    data = _TRAILING_COMMENT.sub("", text).encode("utf-8", "surrogatepass")
    lines = data.translate(_QUOTES, _BLANKS).split(b"\n")
    crc = zlib.crc32
    return [
        (number, _signed(crc(line)))
        for number, line in enumerate(lines)
        if len(line) >= MIN_LINE_BYTES and line[0] != HASH_SIGN and line[:2] != b"//"
    ]


def _signed(value: int) -> int:
    """A CRC32 as a signed 32-bit value (4 bytes in SQLite and in ``array('i')``)."""
    return value - (1 << 32) if value >= 1 << 31 else value


@dataclass(frozen=True, slots=True)
class KnownLines:
    """The sorted line hashes of the index (minus common ones), for membership tests."""

    hashes: array[int]

    def __contains__(self, value: int) -> bool:
        at = bisect_left(self.hashes, value)
        return at < len(self.hashes) and self.hashes[at] == value


def windows(text: str, known: KnownLines) -> list[tuple[int, int]]:
    """Character spans of ``text`` worth tokenizing: around clusters of two or more lines
    the index knows; empty when nothing in it looks like indexed code."""
    hits = [number for number, value in line_hashes(text) if value in known]
    if len(hits) < 2:
        return []
    clusters: list[list[int]] = [[hits[0]]]
    for number in hits[1:]:
        if number - clusters[-1][-1] <= CLUSTER_GAP:
            clusters[-1].append(number)
        else:
            clusters.append([number])
    starts = _line_starts(text)
    spans: list[tuple[int, int]] = []
    for cluster in clusters:
        if len(cluster) < 2:
            continue
        first = max(0, cluster[0] - CONTEXT_LINES)
        last = min(len(starts) - 1, cluster[-1] + CONTEXT_LINES + 1)
        start, end = starts[first], starts[last]
        if spans and start <= spans[-1][1]:
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
    return spans


def _line_starts(text: str) -> list[int]:
    """Offset of the first character of every line, plus the end of the text."""
    starts = [0]
    at = text.find("\n")
    while at >= 0:
        starts.append(at + 1)
        at = text.find("\n", at + 1)
    starts.append(len(text))
    return starts

"""Line fingerprints: a C-speed first look at long texts before tokenizing any of them.

Tokenizing is the expensive part of matching, and a long tool result (a file an agent read,
a log) is rarely the user's code. Every indexed file also stores the CRC32 of its normalised
lines; a long text is tokenized only around lines whose CRC32 the index knows. Normalising
drops whitespace, the quote style and whatever follows ``#`` or ``//`` (comments), so
re-indented, re-spaced, re-quoted and re-commented copies keep their lines. The same
function reads both sides, so whatever it gets wrong it gets wrong identically.
"""

from __future__ import annotations

import re
import zlib
from array import array
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable
from itertools import accumulate, compress

MIN_LINE_BYTES = 16
"""Shorter normalised lines (``return x``, ``}``, ``else:``) are everywhere: not evidence."""
_COMMENT = re.compile(r"(?:#|//)[^\n]*")
"""Comments (and, alike on both sides, whatever else follows a ``#`` or ``//`` on a line)."""
_IMPORT_LINE = re.compile(
    r"\n[ \t]*+(?=[fi#pucvl])"
    r"(?:(?:from[ \t]+\S+[ \t]+)?import[ \t]|\#[ \t]*include|(?:pub[ \t]+)?use[ \t]"
    r"|package[ \t]|(?:const|let|var)[ \t][^=\n]*=[ \t]*require\()[^\n]*"
)
"""Import lines say nothing about whose code it is (the tokenizer drops them too). A line is
matched from the newline before it (the text gets one in front for its first line), and
only where its first word may start an import: the regex engine skips from newline to
newline in C, and tries the import alternatives on few lines."""
_QUOTES = bytes.maketrans(b"'", b'"')
_BLANKS = b" \t\r\f\v"
SIGN = 1 << 31
"""CRC32s are stored as signed 32-bit values: 4 bytes in SQLite and in ``array('i')``."""
CLUSTER_MIN = 2
"""Known lines needed close together before a stretch is read (one is often a common line)."""
CLUSTER_GAP = 8
"""Known lines this close together belong to one excerpt."""
CONTEXT_LINES = 15
"""Lines tokenized around a cluster of known lines, so the whole excerpt is matched."""


def line_hashes(text: str, indexing: bool = False) -> list[tuple[int, int]]:
    """(0-based line number, CRC32) of every long-enough normalised line of ``text``.

    When ``indexing``, import lines are left out, so they are never known lines; a query
    need not spend time finding them (an unknown line is not a hit either way).
    """
    lines = _normalised(_without_imports(text) if indexing else text)
    crc = zlib.crc32
    return [
        (number, (crc(line) ^ SIGN) - SIGN)
        for number, line in enumerate(lines)
        if len(line) >= MIN_LINE_BYTES
    ]


def indexed_line_hashes(text: str) -> array[int]:
    """The CRC32s of ``line_hashes(text, indexing=True)`` without line numbers (duplicates
    kept), with the per-line work in C: what indexing stores of every file."""
    lines = _normalised(_without_imports(text))
    long_enough = compress(lines, map(MIN_LINE_BYTES.__le__, map(len, lines)))
    return array("i", array("I", map(zlib.crc32, long_enough)).tobytes())


def _without_imports(text: str) -> str:
    """``text`` with its import lines emptied (``_IMPORT_LINE`` matches from the newline
    before a line, so the text gets one in front for its first line)."""
    return _IMPORT_LINE.sub("\n", "\n" + text)[1:]


def _normalised(text: str) -> list[bytes]:
    """Every line of ``text`` without comments, blanks and quote style, as bytes."""
    data = _COMMENT.sub("", text).encode("utf-8", "surrogatepass")
    return data.translate(_QUOTES, _BLANKS).split(b"\n")


def known_line_hashes(text: str, known: KnownLines) -> list[tuple[int, int]]:
    """``line_hashes(text)`` of the lines ``known`` holds, with the per-line work in C
    (hashing, sign, membership): a long text has thousands of lines and few known ones."""
    members = known.members
    if members is None:
        return [(number, value) for number, value in line_hashes(text) if value in known]
    lines = _normalised(text)
    signed = array("i", array("I", map(zlib.crc32, lines)).tobytes())
    found = compress(range(len(lines)), map(members.__contains__, signed))
    return [(n, signed[n]) for n in found if len(lines[n]) >= MIN_LINE_BYTES]


SET_UP_TO = 1_000_000
"""Up to this many known lines are also kept in a set (about 50 MB at most), for speed."""


class KnownLines:
    """The line hashes of the index (minus common ones), for membership tests: a set when
    there are few enough, else a sorted array searched by bisection (4 bytes each)."""

    def __init__(self, hashes: array[int]) -> None:
        self.hashes = hashes
        self.members = frozenset(hashes) if len(hashes) <= SET_UP_TO else None
        """The same hashes as a set (faster to test), or None for a very large index."""

    def __contains__(self, value: int) -> bool:
        if self.members is not None:
            return value in self.members
        at = bisect_left(self.hashes, value)
        return at < len(self.hashes) and self.hashes[at] == value


FilesOf = Callable[[set[int]], dict[int, set[int]]]
"""Given line hashes, the files (ids) of the index holding each one."""


def windows(text: str, known: KnownLines, files_of: FilesOf | None = None) -> list[tuple[int, int]]:
    """Character spans of ``text`` worth tokenizing: around clusters of ``CLUSTER_MIN`` or
    more lines the index knows; empty when nothing in it looks like indexed code.

    With ``files_of``, a cluster also needs that many of its lines in one indexed file: an
    excerpt's lines come from its file, while common lines that chance put together come
    from different ones.
    """
    hits = known_line_hashes(text, known)
    if len(hits) < CLUSTER_MIN:
        return []
    clusters: list[list[tuple[int, int]]] = [[hits[0]]]
    for hit in hits[1:]:
        if hit[0] - clusters[-1][-1][0] <= CLUSTER_GAP:
            clusters[-1].append(hit)
        else:
            clusters.append([hit])
    clusters = [cluster for cluster in clusters if len(cluster) >= CLUSTER_MIN]
    if files_of is not None and clusters:
        where = files_of({value for cluster in clusters for _, value in cluster})
        clusters = [cluster for cluster in clusters if _one_file(cluster, where)]
    if not clusters:
        return []
    starts = _line_starts(text)
    spans: list[tuple[int, int]] = []
    for cluster in clusters:
        first = max(0, cluster[0][0] - CONTEXT_LINES)
        last = min(len(starts) - 1, cluster[-1][0] + CONTEXT_LINES + 1)
        start, end = starts[first], starts[last]
        if spans and start <= spans[-1][1]:
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
    return spans


KNOWN_SHARE = 0.25
"""Share of a text's lines the index must know before the files holding them choose the
family it is read in (``family_of_lines``)."""


def family_of_lines(
    text: str, known: KnownLines, files_of: FilesOf, family_of: dict[int, str]
) -> str | None:
    """The language family of most indexed files holding ``text``'s known lines, when the
    index knows at least ``KNOWN_SHARE`` of them (unrelated code shares a few by chance)."""
    hashes = [value for _, value in line_hashes(text)]
    hits = {value for value in hashes if value in known}
    if len(hits) < CLUSTER_MIN or len(hits) < KNOWN_SHARE * len(hashes):
        return None
    votes: Counter[str] = Counter()
    for files in files_of(hits).values():
        votes.update({family_of[file_id] for file_id in files if file_id in family_of})
    return votes.most_common(1)[0][0] if votes else None


def _one_file(cluster: list[tuple[int, int]], where: dict[int, set[int]]) -> bool:
    """True when ``CLUSTER_MIN`` of the cluster's lines are in one indexed file."""
    counts: Counter[int] = Counter()
    for _, value in cluster:
        counts.update(where.get(value, ()))
    return bool(counts) and counts.most_common(1)[0][1] >= CLUSTER_MIN


def _line_starts(text: str) -> list[int]:
    """Offset of the first character of every line, plus the end of the text."""
    starts = list(accumulate(map((1).__add__, map(len, text.split("\n"))), initial=0))
    starts[-1] = len(text)  # the last line has no newline after it
    return starts

"""Put redacted values back into the answers the client receives (pure).

The request left with placeholders; the model answers with them (text, code, tool-call
arguments). A :class:`Restoration` knows the conversation's placeholders and their originals;
a :class:`TextRestorer` replaces them in a text that arrives in pieces (stream deltas), holding
back only a tail that could still grow into a placeholder. Inside JSON-encoded text (tool-call
arguments) the original is inserted JSON-escaped, so the arguments stay valid JSON.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# What a bracketed placeholder looks like, known or not: one that is not in the table (after a
# restart, or evicted) is counted as unrestored.
BRACKETED = re.compile(r"\[REDACTED:[a-z0-9_.-]+:[0-9a-f]{4,16}\]")
_RECENT = 96
"""Characters of emitted text kept to spot an unknown placeholder split across pieces."""
ESCAPED_KEYS = frozenset({"arguments", "partial_json"})
"""Keys whose string value is itself JSON text (tool-call arguments)."""


def json_escaped(value: str) -> str:
    """``value`` as it appears between the quotes of a JSON string."""
    return json.dumps(value, ensure_ascii=False)[1:-1]


@dataclass
class Counts:
    """How many placeholders were restored, and how many came back that could not be."""

    restored: int = 0
    unrestored: int = 0

    def add(self, other: Counts) -> None:
        self.restored += other.restored
        self.unrestored += other.unrestored


class Restoration:
    """One conversation's placeholder -> original table, compiled for fast replacement."""

    def __init__(self, table: Mapping[str, str]) -> None:
        self.table = dict(table)
        self._escaped = {k: json_escaped(v) for k, v in self.table.items()}
        needles = sorted(self.table, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, needles))) if needles else None
        self._prefixes = frozenset(k[:i] for k in self.table for i in range(1, len(k)))
        self._longest = max(map(len, self.table), default=0)
        firsts = sorted({k[0] for k in self.table}) or ["["]
        self._starts = re.compile("|".join(map(re.escape, firsts)))
        # Every bracketed placeholder starts with "[", known or not (those are counted).
        self._first_bytes = re.compile(
            b"|".join(re.escape(c.encode()) for c in sorted({*firsts, "["}))
        )

    def __bool__(self) -> bool:
        return bool(self.table)

    def replace(self, text: str, escape: bool, counts: Counts) -> tuple[str, int]:
        """Replace every whole placeholder; return the text and where its unmatched tail starts."""
        if self._pattern is None:
            return text, len(text)
        values = self._escaped if escape else self.table
        pieces: list[str] = []
        cursor = 0
        for found in self._pattern.finditer(text):
            pieces.append(text[cursor : found.start()])
            pieces.append(values[found.group()])
            counts.restored += 1
            cursor = found.end()
        tail_start = sum(map(len, pieces))
        return "".join(pieces) + text[cursor:], tail_start

    def held_back(self, text: str) -> int:
        """Length of the longest end of ``text`` that could still become a placeholder."""
        window = text[-(self._longest - 1) :] if self._longest > 1 else ""
        for start in self._starts.finditer(window):  # earliest first: the longest candidate
            if window[start.start() :] in self._prefixes:
                return len(window) - start.start()
        return 0

    def may_touch(self, raw: bytes) -> bool:
        """Whether ``raw`` could hold (part of) a placeholder: cheap, before any parsing."""
        return self._first_bytes.search(raw) is not None


def count_unknown(text: str, restoration: Restoration) -> int:
    """Bracketed placeholders in ``text`` that the restoration does not know."""
    return sum(1 for m in BRACKETED.finditer(text) if m.group() not in restoration.table)


@dataclass
class TextRestorer:
    """Restores one stream of text deltas (a content block, a tool call's arguments)."""

    escape: bool = False
    counts: Counts = field(default_factory=Counts)
    pending: str = ""
    _recent: str = ""

    def feed(self, text: str, restoration: Restoration) -> str:
        """What can be sent now of ``pending + text``; the possible placeholder start waits."""
        replaced, tail_start = restoration.replace(self.pending + text, self.escape, self.counts)
        hold = restoration.held_back(replaced[tail_start:])
        emitted = replaced[: len(replaced) - hold]
        self.pending = replaced[len(replaced) - hold :]
        self._note(emitted, restoration)
        return emitted

    def flush(self, restoration: Restoration) -> str:
        """The held-back tail: the text ended (block stop, finish, end of stream)."""
        left, self.pending = self.pending, ""
        self._note(left, restoration)
        return left

    @property
    def recent_bracket(self) -> bool:
        """An unknown placeholder may be continuing: its start is in the recent text."""
        return "[" in self._recent

    def _note(self, emitted: str, restoration: Restoration) -> None:
        if "[" not in emitted and "[" not in self._recent:
            return
        window = self._recent + emitted
        before = count_unknown(self._recent, restoration)
        self.counts.unrestored += count_unknown(window, restoration) - before
        self._recent = window[-_RECENT:]


def restore_string(text: str, restoration: Restoration, escape: bool, counts: Counts) -> str:
    """A complete string: every placeholder in it replaced."""
    replaced, _ = restoration.replace(text, escape, counts)
    counts.unrestored += count_unknown(replaced, restoration)
    return replaced


def restore_tree(node: Any, restoration: Restoration, counts: Counts, escape: bool = False) -> Any:
    """A JSON value with every string restored; JSON-text keys (``arguments``) escape."""
    if isinstance(node, str):
        return restore_string(node, restoration, escape, counts)
    if isinstance(node, list):
        return [restore_tree(item, restoration, counts, escape) for item in node]
    if isinstance(node, dict):
        return {
            key: restore_tree(value, restoration, counts, escape or key in ESCAPED_KEYS)
            for key, value in node.items()
        }
    return node


def dumps(document: Any) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def restore_body(
    body: bytes, content_type: str | None, restoration: Restoration, counts: Counts
) -> bytes | None:
    """A whole (not streamed) response body restored; None when nothing changed."""
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    before = counts.restored
    if kind.endswith("json"):
        try:
            document = json.loads(text)
        except ValueError:
            return None
        restored = restore_tree(document, restoration, counts)
        return dumps(restored) if counts.restored > before else None
    if kind.startswith("text/"):
        replaced = restore_string(text, restoration, False, counts)
        return replaced.encode() if counts.restored > before else None
    return None

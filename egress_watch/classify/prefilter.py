"""Where to look: one Aho-Corasick DFA pass over the text finds every literal anchor of every rule.

Most of a prompt is code and prose that no secret rule can match. A rule family declares the
literals every one of its matches contains (``akia``, ``sk-``, ``password``) and, optionally, a
short confirming regex tried right at the anchor (``password`` must be followed by an assignment),
plus the few shapes with no literal (a Discord token's dots) as regexes that start with one
character. The result is a list of jobs: a line (or a window of a very long line) and the
families worth running on it. Nothing here imports detect_secrets.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Final

import ahocorasick_rs

from egress_watch.classify.spans import char_offsets

MAX_LINE: Final = 4096  # longer lines are scanned in windows around their anchors
BEFORE: Final = 256
AFTER: Final = 4096
MAX_WINDOW: Final = 2 * (BEFORE + AFTER)
MARGIN: Final = 1024  # a hit this far inside an open window is covered by it

# Words frequent in code and prose: each occurrence first has to pass one lookahead built from
# all of the word's confirms (one C call) before its confirms are tried one by one.
COMMON: Final = frozenset(
    ["key", "pass", "pwd", "token", "secret", "auth", "credential", "://", "==", "!="]
)
Job = tuple[int, int, tuple[int, ...]]  # start, end, indices of the families to run there
# A literal's entry: confirm once per run of token characters?, (family, confirm) pairs, and for
# a common word the lookahead that any of its confirms needs.
_Entry = tuple[bool, tuple[tuple[int, "re.Pattern[str] | None"], ...], "re.Pattern[str] | None"]


@dataclass(frozen=True, slots=True)
class Anchor:
    """A lower-case literal every match contains; ``confirm`` must match where it starts."""

    literal: str
    confirm: str | None = None
    once_per_run: bool = False  # later hits in the same run of token characters are skipped


@dataclass(frozen=True, slots=True)
class Shape:
    """A regex for matches with no literal anchor; ``lowered`` says which text it runs on."""

    pattern: str
    lowered: bool = True


@dataclass(frozen=True, slots=True)
class Gate:
    """Everything the prefilter needs to know about one rule family."""

    anchors: tuple[Anchor, ...]
    shapes: tuple[Shape, ...] = field(default=())


def anchors(literals: str, confirm: str | None = None) -> tuple[Anchor, ...]:
    """Anchors for space-separated literals; ``{}`` in ``confirm`` stands for the literal."""
    return tuple(
        Anchor(word, None if confirm is None else confirm.replace("{}", re.escape(word)))
        for word in literals.split()
    )


class Prefilter:
    """Built once from the families' gates; ``jobs`` is thread-safe (read-only automaton)."""

    def __init__(self, gates: Sequence[Gate]) -> None:
        table: dict[str, list[tuple[int, re.Pattern[str] | None]]] = {}
        self._once = frozenset(a.literal for g in gates for a in g.anchors if a.once_per_run)
        for index, gate in enumerate(gates):
            for anchor in gate.anchors:
                if anchor.literal != anchor.literal.lower() or not anchor.literal:
                    raise ValueError(f"anchor {anchor.literal!r} must be non-empty lower case")
                confirm = None if anchor.confirm is None else re.compile(anchor.confirm)
                table.setdefault(anchor.literal, []).append((index, confirm))
        common = {lit: targets for lit, targets in table.items() if lit in COMMON}
        # One DFA over UTF-8 bytes (Rust) finds every literal: 2 ms/MB where pyahocorasick's
        # walk over str took 12 and one regex pass per common word 1-3 ms/MB each. The literals
        # are ASCII, and an ASCII byte never occurs inside a multi-byte character, so every
        # match starts on a character boundary. A common word first needs its lookahead (one
        # C call), which most occurrences of ``key`` or ``token`` in code and prose fail.
        literals = list(table)
        if not all(literal.isascii() for literal in literals):
            raise ValueError(f"anchors must be ASCII: {[w for w in literals if not w.isascii()]}")
        self._literals: list[_Entry] = [
            (
                literal in self._once,
                tuple(targets),
                _lookahead(literal, targets) if literal in common else None,
            )
            for literal, targets in table.items()
        ]
        self._automaton = ahocorasick_rs.BytesAhoCorasick(
            [literal.encode() for literal in literals],
            implementation=ahocorasick_rs.Implementation.DFA,
        )
        self._shapes = tuple(
            (index, re.compile(shape.pattern), shape.lowered)
            for index, gate in enumerate(gates)
            for shape in gate.shapes
        )

    def hits(self, text: str, lowered: str) -> list[tuple[int, int]]:
        """(position, family index) of every confirmed anchor and shape, in no special order."""
        found: list[tuple[int, int]] = []
        add = found.append
        skip_until: dict[int, int] = {}
        for at, back, (once, targets, lookahead) in self._literal_hits(lowered):
            if lookahead is not None and not lookahead.match(lowered, at):
                continue
            if once:  # ``eyJeyJeyJ…``: one confirm per run, not one per occurrence
                if at < skip_until.get(back, -1):
                    continue
                skip_until[back] = _skip_run(lowered, at)
            for index, confirm in targets:
                if confirm is None or confirm.match(lowered, at):
                    add((at, index))
        for index, shape, on_lowered in self._shapes:
            found += ((m.start(), index) for m in shape.finditer(lowered if on_lowered else text))
        return found

    def _literal_hits(self, lowered: str) -> Iterator[tuple[int, int, _Entry]]:
        """(character offset, length - 1, entry) of every literal occurrence, by end."""
        data = lowered.encode("utf-8", "surrogatepass")
        found = self._automaton.find_matches_as_indexes(data, overlapping=True)
        literals = self._literals
        if lowered.isascii():
            return ((start, end - start - 1, literals[index]) for index, start, end in found)
        chars = char_offsets(data, [start for _, start, _ in found], ascii_only=False)
        return ((chars[s], e - s - 1, literals[index]) for index, s, e in found)

    def jobs(self, text: str, lowered: str) -> list[Job]:
        """Each line holding a hit, with the families hit on it; windows on very long lines."""
        lines: dict[int, tuple[int, set[int]]] = {}
        long_hits: dict[int, list[tuple[int, int]]] = {}
        line_start, line_end = -1, -1
        for at, index in sorted(self.hits(text, lowered)):
            if at >= line_end or at < line_start:
                line_start = lowered.rfind("\n", 0, at) + 1
                found = lowered.find("\n", at)
                line_end = len(lowered) if found < 0 else found
            if line_end - line_start > MAX_LINE:
                long_hits.setdefault(line_start, []).append((at, index))
            elif line_start in lines:
                lines[line_start][1].add(index)
            else:
                lines[line_start] = (line_end, {index})
        jobs: list[Job] = [
            (start, end - (lowered[end - 1 : end] == "\r"), tuple(sorted(families)))
            for start, (end, families) in lines.items()
        ]
        for start, hits in long_hits.items():
            jobs += _windows(lowered, start, hits)
        jobs.sort()
        return jobs


def _lookahead(literal: str, targets: list[tuple[int, re.Pattern[str] | None]]) -> re.Pattern[str]:
    """``literal(?=rest1|rest2)``: a regex starting with a literal skips text at C speed."""
    head = re.escape(literal)
    rests = set()
    for _, confirm in targets:
        if confirm is None or not confirm.pattern.startswith(head):
            raise ValueError(f"common anchor {literal!r} needs confirms starting with it")
        rests.add(confirm.pattern.removeprefix(head))
    return re.compile(head + "(?=" + "|".join(f"(?:{rest})" for rest in sorted(rests)) + ")")


_RUN: Final = re.compile(r"[a-z0-9_=+/.-]*")


def _skip_run(lowered: str, at: int) -> int:
    """Where the run of token characters starting at ``at`` ends."""
    m = _RUN.match(lowered, at)
    return at if m is None else m.end()


def _windows(lowered: str, line_start: int, hits: list[tuple[int, int]]) -> Iterator[Job]:
    """Per family, merged windows around its hits on one long line, none over MAX_WINDOW.

    The cap matters: a regex's cost on a window can grow with the window's length times its
    hits (``eyJeyJeyJ…`` retries the JWT pattern at every ``eyJ``), so an unbounded merge over a
    megabyte-long line costs minutes; capped, such a line costs what as many short lines do.
    """
    found = lowered.find("\n", line_start)
    line_end = len(lowered) if found < 0 else found
    open_windows: dict[int, list[int]] = {}
    for at, index in hits:  # sorted by position
        window = open_windows.get(index)
        if window is not None and at + MARGIN <= window[1]:
            continue  # well inside the open window: covered
        start, end = max(line_start, at - BEFORE), min(line_end, at + AFTER)
        if window is not None and start <= window[1] and end - window[0] <= MAX_WINDOW:
            window[1] = end
            continue
        if window is not None:
            yield window[0], window[1], (index,)
        open_windows[index] = [start, end]
    yield from ((start, end, (index,)) for index, (start, end) in open_windows.items())

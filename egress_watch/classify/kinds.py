"""What a match is called, how bad it is, and how overlapping or repeated matches are settled."""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

import ahocorasick

from egress_watch.classify.prefilter import Gate
from egress_watch.model import Severity

_ECHO_MIN: Final = 8
_ECHO_MAX: Final = 1024
_ECHO_CAP: Final = 64


@dataclass(frozen=True, slots=True)
class Kind:
    """A rule id, its severity and reason, and whether it needs false-positive filtering."""

    rule: str
    severity: Severity
    reason: str
    generic: bool = False  # keyword/entropy/URL style rather than a vendor token format
    level: str | None = None  # an engine's own confidence (kingfisher's), when it has one
    identifier: bool = False  # names a credential (an account SID, a key id): not a secret

    @property
    def confidence(self) -> str:
        """How sure a match of this kind is a real secret: a vendor format beats a keyword guess."""
        if self.level is not None:
            return self.level
        if self.severity is Severity.LOW:
            return "low"
        return "medium" if self.generic else "high"


Hit = tuple[int, int, Kind]  # absolute start, end, kind


class Detector:
    """A family of rules plus its gate: the anchors present wherever any of the rules match."""

    gate: Gate
    pure: bool = False
    """``find`` reads only ``chunk`` and ``low``: the same line twice gives the same hits."""

    def find(self, text: str, start: int, chunk: str, low: str) -> Iterator[Hit]:
        """Hits in ``chunk`` (= ``text[start:...]``, ``low`` lower-cased), in text offsets."""
        raise NotImplementedError


def echoes(text: str, hits: list[Hit]) -> list[Hit]:
    """Other occurrences of values found by generic rules: the same secret, repeated elsewhere."""
    values = {
        value: k
        for s, e, k in hits
        if k.generic and k.severity >= Severity.HIGH and _echoable(value := text[s:e])
    }
    if not values:
        return []
    known = {(s, e) for s, e, _ in hits}
    chosen = dict(list(values.items())[:_ECHO_CAP])
    repeats = {
        v: dataclasses.replace(k, reason=k.reason + " (repeated)") for v, k in chosen.items()
    }
    found: list[Hit] = []
    for at, end, value in _occurrences(text, chosen):
        if (at, end) not in known and not (_wordish(text, at - 1) or _wordish(text, end)):
            found.append((at, end, repeats[value]))
    return found


# Up to this many values, one str.find pass each beats one automaton pass: a find costs about
# 0.2 ms/MB, pyahocorasick about 10 ms/MB (measured: 16 values over 4 MB, 12 ms against 40 ms).
_FEW: Final = 40


def _occurrences(text: str, values: dict[str, Kind]) -> list[tuple[int, int, str]]:
    """Where each value occurs: a few by ``str.find``, many in one Aho-Corasick pass."""
    if len(values) <= _FEW:
        spans = []
        for value in values:
            at = text.find(value)
            while at >= 0:
                spans.append((at, at + len(value), value))
                at = text.find(value, at + len(value))
        return spans
    automaton = ahocorasick.Automaton()
    for value in values:
        automaton.add_word(value, value)
    automaton.make_automaton()
    return [(end + 1 - len(v), end + 1, v) for end, v in automaton.iter_long(text)]


def _echoable(value: str) -> bool:
    """Long, with letters and digits: another occurrence is surely the same secret."""
    if not _ECHO_MIN <= len(value) <= _ECHO_MAX:
        return False
    return any(c.isdigit() for c in value) and any(c.isalpha() for c in value)


def _wordish(text: str, index: int) -> bool:
    """A letter, digit or underscore at ``index``: a value there is part of a longer word."""
    return 0 <= index < len(text) and (text[index].isalnum() or text[index] == "_")


def resolve(hits: list[Hit]) -> list[Hit]:
    """Non-overlapping hits sorted by start; on overlap the most severe, specific, longest wins.

    Only hits in one run of overlapping spans can compete, so each run is settled on its own:
    O(n log n) however many hits a text holds (settling all at once inserted into one sorted
    list, quadratic on a text with tens of thousands of findings).
    """
    kept: list[Hit] = []
    run: list[Hit] = []
    reach = -1
    for hit in sorted(set(hits), key=lambda h: (h[0], h[1])):
        if run and hit[0] >= reach:
            kept += _settle(run)
            run = []
        run.append(hit)
        reach = hit[1] if len(run) == 1 else max(reach, hit[1])
    if run:
        kept += _settle(run)
    return kept


def _settle(run: list[Hit]) -> list[Hit]:
    """The winners among overlapping hits, sorted by start."""
    if len(run) == 1:
        return run
    ranked = sorted(
        run, key=lambda h: (-h[2].severity, h[2].generic, h[0] - h[1], h[0], h[2].rule, h[2].reason)
    )
    starts: list[int] = []
    kept: list[Hit] = []
    for hit in ranked:
        i = bisect.bisect_left(starts, hit[0])
        if (i > 0 and kept[i - 1][1] > hit[0]) or (i < len(kept) and kept[i][0] < hit[1]):
            continue
        starts.insert(i, hit[0])
        kept.insert(i, hit)
    return kept


PAIR_LINES: Final = 10


def describe_pairs(text: str, hits: list[Hit]) -> list[Hit]:
    """An AWS key id with its secret key nearby says so: together they are a working credential.

    Linear: line numbers come from one pass over the text's line breaks, and each key id looks
    only at the secret keys just before and after it (hits are sorted by start).
    """
    secrets = [s for s, _, k in hits if k.rule == "aws-secret-key"]
    if not secrets or not any(k.rule == "aws-access-key" for _, _, k in hits):
        return hits
    line_of = line_numbers(text, [s for s, _, _ in hits])
    secret_lines = [line_of[s] for s in secrets]
    described: list[Hit] = []
    for s, e, k in hits:
        if k.rule == "aws-access-key":
            line = line_of[s]
            i = bisect.bisect_left(secrets, s)
            near = min(
                (secret_lines[j] - line for j in (i - 1, i) if 0 <= j < len(secrets)), key=abs
            )
            if abs(near) <= PAIR_LINES:
                k = dataclasses.replace(k, reason=f"{k.reason} with its secret key {_where(near)}")
        described.append((s, e, k))
    return described


def line_numbers(text: str, offsets: list[int]) -> dict[int, int]:
    """The line (0-based) of each offset, counting line breaks once across the text."""
    lines: dict[int, int] = {}
    at, line = 0, 0
    for offset in sorted(set(offsets)):
        line += text.count("\n", at, offset)
        at = offset
        lines[offset] = line
    return lines


PAIR_ID_LINES: Final = 5


def pair_identifiers(text: str, hits: list[Hit], ids: list[Hit]) -> list[Hit]:
    """Identifiers are not findings; next to a secret they say so in its reason, making the
    pair one finding: ``Twilio auth token (paired with its account SID 1 line above)``."""
    if not ids or not hits:
        return hits
    line_of = line_numbers(text, [h[0] for h in hits] + [h[0] for h in ids])
    lines = [line_of[s] for s, _, _ in hits]
    notes: dict[int, str] = {}
    for s, _, kind in sorted(ids, key=lambda h: h[0]):
        line = line_of[s]
        i = bisect.bisect_left(lines, line)
        near = [j for j in (i - 1, i) if 0 <= j < len(hits)]
        if not near:
            continue
        j = min(near, key=lambda j: abs(lines[j] - line))
        distance = line - lines[j]
        if abs(distance) <= PAIR_ID_LINES and j not in notes:
            notes[j] = f"paired with its {kind.reason} {_where(distance)}"
    return [
        (s, e, dataclasses.replace(k, reason=f"{k.reason} ({notes[j]})") if j in notes else k)
        for j, (s, e, k) in enumerate(hits)
    ]


def _where(lines: int) -> str:
    """``2 lines below``, ``1 line above``, ``on the same line``."""
    if lines == 0:
        return "on the same line"
    unit = "line" if abs(lines) == 1 else "lines"
    return f"{abs(lines)} {unit} {'below' if lines > 0 else 'above'}"

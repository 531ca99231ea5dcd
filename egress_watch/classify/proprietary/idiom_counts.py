"""Counting the language guess's idioms once per region, in one pass over the sample.

The guess reads two tables of idioms (hand-set and learned) that share most of their entries,
and ran ``str.count`` once per idiom and table: some 380 scans of every region. Here one
Aho-Corasick automaton (Rust) finds every occurrence of every idiom in one pass. That count
of occurrences is ``str.count`` (non-overlapping) for every idiom that cannot overlap itself;
the few that can (two spaces, ``**``, triple quotes) are still counted with ``str.count``, skipped
when a shorter idiom inside them was found nowhere. The counts are exactly
``sample.count(idiom)`` for every idiom.
"""

from __future__ import annotations

from collections.abc import Iterable

import ahocorasick_rs


class IdiomCounter:
    """Counts a fixed set of idioms in a sample."""

    def __init__(self, idioms: Iterable[str]) -> None:
        self.order = sorted(set(idioms), key=lambda idiom: (len(idiom), idiom))
        self.found_once = [idiom for idiom in self.order if not _overlaps_itself(idiom)]
        """Idioms whose occurrences never overlap: the automaton's count is theirs."""
        self.self_overlapping = [idiom for idiom in self.order if _overlaps_itself(idiom)]
        """Idioms counted with ``str.count`` (shortest first)."""
        inside = _longest_inside(self.order)
        self.inside = {idiom: inside[idiom] for idiom in self.self_overlapping if idiom in inside}
        """For a self-overlapping idiom, the longest shorter idiom it contains (if any)."""
        self._automaton = ahocorasick_rs.AhoCorasick(self.found_once)

    def counts(self, sample: str) -> dict[str, int]:
        """``sample.count(idiom)`` for every idiom (non-overlapping occurrences)."""
        found = dict.fromkeys(self.order, 0)
        names = self.found_once
        for index, _, _ in self._automaton.find_matches_as_indexes(sample, overlapping=True):
            found[names[index]] += 1
        inside = self.inside
        count = sample.count
        for idiom in self.self_overlapping:
            shorter = inside.get(idiom)
            if shorter is None or found[shorter]:
                found[idiom] = count(idiom)
        return found


def _overlaps_itself(idiom: str) -> bool:
    """True when two occurrences can overlap (a prefix is also a suffix: ``"=="``)."""
    return any(idiom[:k] == idiom[-k:] for k in range(1, len(idiom)))


def _longest_inside(order: list[str]) -> dict[str, str]:
    """Each idiom's longest (then first in ``order``) shorter idiom that occurs inside it."""
    inside: dict[str, str] = {}
    for i, idiom in enumerate(order):
        shorter = [other for other in order[:i] if len(other) < len(idiom) and other in idiom]
        if shorter:
            inside[idiom] = max(shorter, key=len)
    return inside


def weighted(
    counts: dict[str, int],
    table: dict[str, tuple[float, float, float, float]],
    cap: int | None,
) -> list[float]:
    """Each family's total weight of the idioms of ``table`` (each counted at most ``cap``
    times), summed in the table's order."""
    scores = [0.0, 0.0, 0.0, 0.0]
    for idiom, weights in table.items():
        found = counts[idiom]
        if found:
            found = min(found, cap) if cap else found
            for family in range(4):
                scores[family] += found * weights[family]
    return scores

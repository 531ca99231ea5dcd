"""Recall and precision per family for any scanner's findings on the labelled corpus.

A finding is a true positive when its span overlaps a planted secret; recall counts planted
secrets found at least once. False positives are charged to the family their rule belongs to
(``(generic)`` for keyword, entropy and URL rules), so per-family precision means: of what this
family's rules reported, how much was real.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from tests.corpus.generate import Document

Span = tuple[str, int, int]  # (rule, start, end)
GENERIC = "(generic)"


@dataclass
class Tally:
    planted: int = 0
    found: int = 0
    true_findings: int = 0
    false_findings: int = 0

    @property
    def recall(self) -> float:
        return self.found / self.planted if self.planted else 1.0

    @property
    def precision(self) -> float:
        total = self.true_findings + self.false_findings
        return self.true_findings / total if total else 1.0


@dataclass
class Score:
    families: dict[str, Tally] = field(default_factory=dict)
    false_by_rule: Counter[str] = field(default_factory=Counter)

    def tally(self, family: str) -> Tally:
        return self.families.setdefault(family, Tally())

    @property
    def overall(self) -> Tally:
        total = Tally()
        for t in self.families.values():
            total.planted += t.planted
            total.found += t.found
            total.true_findings += t.true_findings
            total.false_findings += t.false_findings
        return total


def score(
    docs: Sequence[Document],
    scan: Callable[[Document], list[Span]],
    family_of_rule: Mapping[str, str],
) -> Score:
    """Run ``scan`` on every document and tally it against the labels."""
    result = Score()
    for doc in docs:
        findings = scan(doc)
        for family, start, end in doc.plants:
            tally = result.tally(family)
            tally.planted += 1
            tally.found += any(s < end and start < e for _, s, e in findings)
        for rule, s, e in findings:
            hit = next((f for f, start, end in doc.plants if s < end and start < e), None)
            if hit is not None:
                result.tally(hit).true_findings += 1
            else:
                result.tally(family_of_rule.get(rule, GENERIC)).false_findings += 1
                result.false_by_rule[rule] += 1
    return result

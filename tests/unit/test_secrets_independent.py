"""The frozen evaluation half (tests/corpus/independent.py): values sampled from other
projects' rule definitions, planted into excerpts of real files shipped in installed packages,
plus clean excerpts. Rules are not tuned on it; it must hold the issue's targets: recall >= 0.93,
precision >= 0.95, and at most 3 in 76 clean documents alarmed.
bench/eval_independent.py prints both halves in full."""

from __future__ import annotations

import pytest

from egress_watch.classify.secrets import SecretScanner
from tests.corpus.generate import Document
from tests.corpus.independent import Plant, build_independent
from tests.corpus.score import Score, Span, score


@pytest.fixture(scope="module")
def frozen() -> tuple[list[Document], list[Document], list[Plant]]:
    return build_independent()


@pytest.fixture(scope="module")
def scanner() -> SecretScanner:
    return SecretScanner()


@pytest.fixture(scope="module")
def result(
    frozen: tuple[list[Document], list[Document], list[Plant]], scanner: SecretScanner
) -> Score:
    planted, clean, _ = frozen

    def scan(doc: Document) -> list[Span]:
        return [(m.rule, m.start, m.end) for m in scanner.scan(doc.text)]

    return score(planted + clean, scan, {})


def test_the_frozen_half_is_large_and_from_two_outside_sources(
    frozen: tuple[list[Document], list[Document], list[Plant]],
) -> None:
    planted, clean, plants = frozen
    assert len(plants) >= 300
    assert len(clean) >= 76
    assert sum(len(doc.plants) for doc in planted) == len(plants)
    assert {p.source for p in plants} == {"kingfisher", "detect-secrets"}
    assert len({p.family for p in plants}) >= 100


def test_recall_and_precision_hold_on_text_nobody_here_wrote(result: Score) -> None:
    overall = result.overall
    assert overall.recall >= 0.93, overall
    assert overall.precision >= 0.95, dict(result.false_by_rule)


def test_few_clean_documents_alarm(
    frozen: tuple[list[Document], list[Document], list[Plant]], scanner: SecretScanner
) -> None:
    _, clean, _ = frozen
    alarmed = [doc.id for doc in clean if scanner.scan(doc.text)]
    assert len(alarmed) * 76 <= 3 * len(clean), alarmed

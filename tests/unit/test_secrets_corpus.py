"""The labelled corpus holds the issue's targets: recall and precision >= 0.95 overall, no family
under 0.8 recall (bench/eval_corpus.py prints the full table, with detect-secrets beside it)."""

from __future__ import annotations

import pytest

from egress_watch.classify.secrets import SecretScanner
from tests.corpus.generate import DOCS_PER_FAMILY, Document, build_corpus
from tests.corpus.score import Score, Span, score
from tests.corpus.values import FAMILIES


@pytest.fixture(scope="module")
def corpus() -> list[Document]:
    return build_corpus()


@pytest.fixture(scope="module")
def result(corpus: list[Document]) -> Score:
    scanner = SecretScanner()

    def scan(doc: Document) -> list[Span]:
        return [(m.rule, m.start, m.end) for m in scanner.scan(doc.text)]

    return score(corpus, scan, {})


def test_the_corpus_is_large_varied_and_deterministic(corpus: list[Document]) -> None:
    assert len(corpus) >= 300
    assert len({d.kind for d in corpus}) >= 10
    planted = {family for d in corpus for family, _, _ in d.plants}
    assert planted == set(FAMILIES)
    assert sum(len(d.plants) for d in corpus) == len(FAMILIES) * DOCS_PER_FAMILY
    assert [d.text for d in build_corpus()[:20]] == [d.text for d in corpus[:20]]


def test_overall_recall_and_precision_reach_the_targets(result: Score) -> None:
    overall = result.overall
    assert overall.recall >= 0.95
    assert overall.precision >= 0.95, dict(result.false_by_rule)


def test_no_family_falls_under_the_recall_floor(result: Score) -> None:
    low = {name: t.recall for name, t in result.families.items() if t.recall < 0.8}
    assert low == {}

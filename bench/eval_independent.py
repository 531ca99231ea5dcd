"""Both halves of the secret-detection evaluation, kept apart (issue 16).

* tuning half: tests/corpus/generate.py, our own phrasing (rules were tuned on it);
* frozen half: tests/corpus/independent.py, values sampled from other projects' rule
  definitions (kingfisher's catalog, detect-secrets' plugins) planted into excerpts of real
  files shipped in installed packages, plus clean excerpts with nothing planted.

Prints recall, precision and clean documents alarmed for each half, per source and family.

    uv run python bench/eval_independent.py [--seed 16] [--families]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from egress_watch.classify.secrets import SecretScanner
from tests.corpus.generate import Document, build_corpus
from tests.corpus.independent import build_independent
from tests.corpus.score import Score, Span, score


def _scan(scanner: SecretScanner):  # type: ignore[no-untyped-def]
    def scan(doc: Document) -> list[Span]:
        return [(m.rule, m.start, m.end) for m in scanner.scan(doc.text)]

    return scan


def _alarmed(scanner: SecretScanner, clean: list[Document]) -> tuple[int, Counter[str]]:
    rules: Counter[str] = Counter()
    alarmed = 0
    for doc in clean:
        found = scanner.scan(doc.text)
        alarmed += bool(found)
        rules.update(m.rule for m in found)
    return alarmed, rules


def _line(name: str, result: Score, alarmed: int, clean: int) -> str:
    o = result.overall
    return (
        f"{name:28} planted {o.planted:4d}  recall {o.recall:.3f}  precision {o.precision:.3f}  "
        f"clean docs alarmed {alarmed}/{clean}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--families", action="store_true", help="per-family table")
    args = parser.parse_args()
    scanner = SecretScanner()
    started = time.perf_counter()
    tuning = build_corpus()
    planted, clean, plants = build_independent(args.seed)
    tune_score = score(tuning, _scan(scanner), {})
    tune_clean = [d for d in tuning if not d.plants]
    tune_alarmed, _ = _alarmed(scanner, tune_clean)
    print(_line("tuning half (our phrasing)", tune_score, tune_alarmed, len(tune_clean)))
    for source in ("kingfisher", "detect-secrets"):
        docs = [d for d in planted if d.id.startswith(source)]
        print(_line(f"frozen: {source} rules", score(docs, _scan(scanner), {}), 0, 0))
    frozen = score(planted + clean, _scan(scanner), {})
    alarmed, rules = _alarmed(scanner, clean)
    print(_line("frozen half, all", frozen, alarmed, len(clean)))
    print(f"false positives on the frozen half by rule: {dict(frozen.false_by_rule.most_common())}")
    print(f"clean-document alarms by rule: {dict(rules.most_common())}")
    missed = Counter(
        family for family, t in frozen.families.items() for _ in range(t.planted - t.found)
    )
    print(f"missed planted values ({sum(missed.values())}): {dict(missed.most_common(40))}")
    if args.families:
        for family, t in sorted(frozen.families.items()):
            print(f"  {family:40} {t.planted:3d} {t.recall:5.2f} {t.precision:5.2f}")
    print(f"({len(plants)} plants, {time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()

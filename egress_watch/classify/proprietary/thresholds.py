"""What a match reports and when: the thresholds a fragment must pass, and the match itself.

Kept apart from the matcher so that benches and callers can judge matches with other
thresholds without the index machinery.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_EXAMPLE_PATH = re.compile(
    r"(?:^|/)(?:scripts?|examples?|_examples|samples?|benchmarks?|bench|docs?)/"
    r"|(?:^|/)[^/]*\.config\.[cm]?[jt]s$"
)
"""Scripts, examples, samples, benchmarks, docs and build configs. Not tests: their table
tests and recorders are boilerplate too, but counting them in lost 2 % more of the 5-line
Go excerpts on the bench (three draws) for one false positive less."""


def is_example_path(path: str) -> bool:
    """True for a script, example, benchmark, doc or build-config file: where a framework
    writes the same set-up code its users write (``process.on('unhandledRejection')``, a
    webpack config, ``app.listen(3000)``)."""
    return _EXAMPLE_PATH.search(path) is not None


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Covered-token counts at which a fragment reports, and the boilerplate cap.

    A fragment reports when it covers ``sure`` tokens, or when it covers at least ``min_score``
    of the query's tokens and either ``raw`` tokens through the exact channel or ``renamed``
    tokens through both: a short excerpt pasted alone is mostly covered, while chance
    alignments of same-domain idioms are short runs inside longer unrelated code.
    """

    raw: int = 8
    renamed: int = 22
    renamed_exact: int = 0
    """Exact tokens a mostly renamed fragment below ``sure`` also needs (shape alone is weak
    evidence for short fragments)."""
    sure: int = 40
    min_score: float = 0.5
    short_share: float = 0.7
    """Share of the query a fragment under ``renamed`` tokens needs (``min_score`` for longer
    ones): a run of 8-21 tokens is where code really shared between frameworks (a response
    writer, a middleware's set-up) matches by chance, so a short match must be more of a
    short paste."""
    example_share: float = 0.7
    """Share of the query a fragment under ``renamed`` tokens needs when it matched an
    example, script or config file (``is_example_path``): such files hold the set-up code
    that users write by hand too, so a short match there is most of a short query or
    nothing."""
    high: int = 50
    df_min: int = 8
    df_fraction: float = 0.005

    def passes(
        self,
        tokens: int,
        exact: int,
        score: float,
        private_score: float | None = None,
        example: bool = False,
    ) -> bool:
        """True when a fragment covering ``tokens`` (``exact`` of them through the raw
        channel), a ``score`` share of its query, is reported.

        Longer exact runs need less of the query: the share required falls linearly from
        ``min_score`` at ``raw`` exact tokens to nothing at ``sure``. A fragment of
        ``renamed`` tokens or more may count its ``private_score`` instead: its share of the
        query's tokens that are not public shape (a renamed excerpt keeps only its own
        shape); a shorter one must be most of every token (a few exact tokens that happen to
        match inside boilerplate are not evidence), and ``example_share`` of it when it
        matched an ``example`` file (an example, script or config file).
        """
        if tokens >= self.sure:
            return True
        if example and tokens < self.renamed and score < self.example_share:
            return False
        if tokens >= self.renamed and private_score is not None:
            score = max(score, private_score)
        share = self.min_score if tokens >= self.renamed else max(self.min_score, self.short_share)
        if score >= share and (
            exact >= self.raw or (tokens >= self.renamed and exact >= self.renamed_exact)
        ):
            return True
        if exact < self.raw:
            return False
        return score >= share * (self.sure - exact) / (self.sure - self.raw)


@dataclass(frozen=True, slots=True)
class CodeMatch:
    """An excerpt of indexed code found in a text."""

    repo: str
    path: str
    start_line: int
    end_line: int
    score: float
    tokens: int
    start: int
    end: int
    channel: str
    """``raw`` when most of the excerpt matched as written, ``renamed`` when only with its
    identifiers masked."""
    exact_tokens: int = 0
    """Tokens covered through the raw (as-written) channel."""
    private_score: float = 0.0
    """Share of the query's tokens that are not public shape (see ``Thresholds.passes``)."""

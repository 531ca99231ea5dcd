"""Fragments: a query's k-gram hits pooled by file and diagonal offset (±3 tokens).

A fragment's coverage is how many query tokens its k-grams cover together, through both
channels and through the exact one alone; its lines are where it sits in the indexed file.
Pure functions over the hits the matcher looked up.
"""

from __future__ import annotations

from dataclasses import dataclass

from egress_watch.classify.proprietary.tokenize import Tokens
from egress_watch.classify.proprietary.winnow import Channel

DIAGONAL_SLACK = 3
"""Hits of one file whose diagonals differ by at most this pool into one fragment."""


@dataclass(slots=True)
class Fragment:
    file_id: int
    covered: int
    exact: int
    qfirst: int
    qlast: int
    start_line: int
    end_line: int


def preference(frag: Fragment) -> tuple[int, int, int]:
    """Fragments in the order they are taken: most of the query covered, then most of it as
    written, then the indexed span closest to the query's (an excerpt that occurs at several
    places of a file is reported where it matches best)."""
    return (-frag.covered, -frag.exact, frag.end_line - frag.start_line)


def overlap(a: Fragment, b: Fragment) -> int:
    """How many query tokens two fragments share."""
    return max(0, min(a.qlast, b.qlast) - max(a.qfirst, b.qfirst) + 1)


def pool_fragments(
    queries: list[tuple[Channel, dict[int, list[int]]]],
    postings: dict[int, list[tuple[int, int, int]]],
    tokens: Tokens,
) -> list[Fragment]:
    """Pool the hits of every channel by (file, offset ± slack) into fragments.

    Both channels number the same tokens, so a renamed excerpt's exact stretches and its
    masked ones add up in one fragment.
    """
    hits = []
    for channel, where in queries:
        k = channel.k
        exact = not channel.renamed
        for h, qpositions in where.items():
            rows = postings.get(h)
            if rows:
                for file_id, pos, line in rows:
                    for qpos in qpositions:
                        hits.append((file_id, pos - qpos, qpos, pos, line, k, exact))
    if not hits:
        return []
    hits.sort()
    qlines = tokens.lines
    out = []
    group = [hits[0]]
    for hit in hits[1:]:
        last = group[-1]
        if hit[0] == last[0] and hit[1] - last[1] <= DIAGONAL_SLACK:
            group.append(hit)
        else:
            out.append(fragment(group, qlines))
            group = [hit]
    out.append(fragment(group, qlines))
    return out


Hit = tuple[int, int, int, int, int, int, bool]
"""(file, diagonal, query position, indexed position, indexed line, k, exact channel)."""


def fragment(group: list[Hit], qlines: list[int]) -> Fragment:
    """Coverage (all channels and exact only) and line span of one pooled group of hits."""
    if len(group) == 1:  # most groups: one chance hit
        return single_hit(group[0], qlines)
    return pooled(group, qlines)


def pooled(group: list[Hit], qlines: list[int]) -> Fragment:
    """``fragment`` of any group: the union of its k-grams' spans, its first and last lines."""
    spans = sorted((qpos, qpos + k) for _, _, qpos, _, _, k, _ in group)
    exact = sorted((qpos, qpos + k) for _, _, qpos, _, _, k, is_exact in group if is_exact)
    first = min(group, key=lambda h: h[3])
    last = max(group, key=lambda h: h[3] + h[5])
    tail = min(last[2] + last[5] - 1, len(qlines) - 1)
    qfirst = spans[0][0]
    qlast = min(max(end for _, end in spans) - 1, len(qlines) - 1)
    # The indexed end line is the last k-gram's first line plus what that k-gram spans in
    # the query; it never reaches past the fragment's own span of query lines.
    end_line = last[4] + qlines[tail] - qlines[last[2]]
    end_line = max(first[4], min(end_line, first[4] + qlines[qlast] - qlines[qfirst]))
    return Fragment(
        file_id=group[0][0],
        covered=union(spans),
        exact=union(exact),
        qfirst=qfirst,
        qlast=qlast,
        start_line=first[4],
        end_line=end_line,
    )


def single_hit(hit: Hit, qlines: list[int]) -> Fragment:
    """``fragment`` of a group of one hit, without its sorting: the k-gram's own span."""
    file_id, _, qpos, _, line, k, is_exact = hit
    qlast = min(qpos + k - 1, len(qlines) - 1)
    return Fragment(
        file_id=file_id,
        covered=k,
        exact=k if is_exact else 0,
        qfirst=qpos,
        qlast=qlast,
        start_line=line,
        end_line=line + qlines[qlast] - qlines[qpos],
    )


def union(spans: list[tuple[int, int]]) -> int:
    """How many positions sorted half-open ``spans`` cover together."""
    covered = 0
    reach = -1
    for start, end in spans:
        if end > reach:
            covered += end - max(start, reach)
            reach = end
    return covered

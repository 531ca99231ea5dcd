"""Query the code index: every k-gram of the text, hits pooled by file and diagonal offset.

A fragment is a run of query k-grams that hit one file at a near-constant offset (±3 tokens);
its coverage is the number of query tokens those k-grams cover. The raw channel catches
exact / reformatted / re-commented excerpts, the renamed channel catches renamed ones.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from egress_watch.proprietary.index import MAX_POSTINGS_PER_HASH, open_index
from egress_watch.proprietary.prompt import Region, code_regions
from egress_watch.proprietary.tokenize import PYTHON, Tokens, tokenize
from egress_watch.proprietary.winnow import (
    CHANNELS,
    RAW,
    Channel,
    channel_ids,
    kgram_hashes,
    winnow,
)

DIAGONAL_SLACK = 3
ALL_KGRAMS_UP_TO = 600  # tokens; longer regions look up their winnowed k-grams only
CHUNK = 500


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Covered-token counts at which each channel reports, and the boilerplate cap.

    A fragment reports when it covers ``sure`` tokens, or its channel's floor and at least
    ``min_score`` of the query's tokens (a short excerpt pasted alone); chance alignments of
    same-domain idioms are short runs inside long unrelated code.
    """

    raw: int = 14
    renamed: int = 24
    sure: int = 40
    min_score: float = 0.3
    high: int = 50
    df_min: int = 3
    df_fraction: float = 0.005

    def passes(self, tokens: int, score: float, channel: str) -> bool:
        """True when a fragment of ``tokens`` covered tokens and this score is reported."""
        if tokens >= self.sure:
            return True
        floor = self.raw if channel == RAW.name else self.renamed
        return tokens >= floor and score >= self.min_score


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


@dataclass(slots=True)
class _Fragment:
    file_id: int
    covered: int
    qfirst: int
    qlast: int
    start_line: int
    end_line: int
    channel: Channel


class Matcher:
    """Matches text against an index file; reloads its file table when the index changes."""

    def __init__(self, path: Path, thresholds: Thresholds | None = None) -> None:
        self._conn: sqlite3.Connection = open_index(path, create=False)
        self.thresholds = thresholds or Thresholds()
        self._lock = threading.Lock()
        self._generation: str | None = None
        self._files: dict[int, tuple[str, str]] = {}
        self._common: set[int] = set()

    def close(self) -> None:
        """Close the database connection."""
        self._conn.close()

    def match(self, text: str, language: str | None = None) -> list[CodeMatch]:
        """Indexed code inside ``text`` (a prompt, a file), best first."""
        found: list[CodeMatch] = []
        with self._lock:
            self._refresh()
            if not self._files:
                return []
            for region in code_regions(text, language):
                found += self._match_region(region)
        return sorted(found, key=lambda m: -m.tokens)

    def generation(self) -> str:
        """A value that changes whenever the index does (for caches of match results)."""
        with self._lock:
            row = self._conn.execute("SELECT value FROM meta WHERE key='generation'").fetchone()
        return str(row[0]) if row else "0"

    def _refresh(self) -> None:
        """Reload the live files when ``index add/remove/rebuild`` changed the index."""
        row = self._conn.execute("SELECT value FROM meta WHERE key='generation'").fetchone()
        generation = row[0] if row else "0"
        if generation == self._generation:
            return
        self._files = {
            file_id: (repo, path)
            for file_id, repo, path in self._conn.execute(
                "SELECT f.id, r.name, f.path FROM files f JOIN repos r ON r.id = f.repo_id"
            )
        }
        self._common = {h for (h,) in self._conn.execute("SELECT hash FROM common")}
        self._generation = generation

    def _match_region(self, region: Region) -> list[CodeMatch]:
        """Fragments of one code region above the thresholds, non-overlapping in the query."""
        tokens = _tokens(region, offsets=False)
        if len(tokens.values) < RAW.k:
            return []
        cache: dict[str, int] = {}
        queries = []
        long = len(tokens.values) > ALL_KGRAMS_UP_TO
        for channel in CHANNELS:
            hashes = kgram_hashes(channel_ids(tokens, channel, cache), channel)
            # Every k-gram of a short query is looked up (its edges matter); a long one only
            # needs its winnowed k-grams, which are the ones the index kept inside any shared run.
            positions = winnow(hashes, channel.w) if long else range(len(hashes))
            where: dict[int, list[int]] = defaultdict(list)
            for qpos in positions:
                where[hashes[qpos]].append(qpos)
            queries.append((channel, where))
        postings = self._postings({h for _, where in queries for h in where})
        fragments: list[_Fragment] = []
        for channel, where in queries:
            fragments += _fragments(channel, where, postings, tokens)
        if not any(self.thresholds.passes(f.covered, 1.0, f.channel.name) for f in fragments):
            return []
        return self._select(fragments, _tokens(region, offsets=True), region)

    def _postings(self, hashes: set[int]) -> dict[int, list[tuple[int, int, int]]]:
        """(file, position, line) per hash, minus dead files and boilerplate hashes."""
        cap = max(self.thresholds.df_min, int(self.thresholds.df_fraction * len(self._files)))
        by_hash: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
        ordered = list(hashes - self._common)
        for i in range(0, len(ordered), CHUNK):
            chunk = ordered[i : i + CHUNK]
            marks = ",".join("?" * len(chunk))
            for h, file_id, pos, line in self._conn.execute(
                f"SELECT hash, file_id, pos, line FROM postings WHERE hash IN ({marks})",  # noqa: S608
                chunk,
            ):
                if file_id in self._files:
                    by_hash[h].append((file_id, pos, line))
        return {
            h: rows
            for h, rows in by_hash.items()
            if len(rows) <= MAX_POSTINGS_PER_HASH and len({r[0] for r in rows}) <= cap
        }

    def _select(
        self, fragments: list[_Fragment], tokens: Tokens, region: Region
    ) -> list[CodeMatch]:
        """Fragments over their channel's threshold, greedily, without overlapping ones."""
        limits = self.thresholds
        total = len(tokens.values)
        taken: list[_Fragment] = []
        for frag in sorted(fragments, key=lambda f: -f.covered):
            if not limits.passes(frag.covered, frag.covered / total, frag.channel.name):
                continue
            if any(_overlap(frag, t) > 0.5 * (frag.qlast - frag.qfirst + 1) for t in taken):
                continue
            taken.append(frag)
        out = []
        for frag in taken:
            repo, path = self._files[frag.file_id]
            out.append(
                CodeMatch(
                    repo=repo,
                    path=path,
                    start_line=frag.start_line,
                    end_line=frag.end_line,
                    score=round(frag.covered / total, 3),
                    tokens=frag.covered,
                    start=region.offset + tokens.starts[frag.qfirst],
                    end=region.offset + tokens.ends[frag.qlast],
                    channel=frag.channel.name,
                )
            )
        return out


def _tokens(region: Region, offsets: bool) -> Tokens:
    """Tokens of a region; a Python excerpt cut inside a docstring is re-read as such.

    An excerpt that starts inside a docstring inverts the lexer (the closing quotes open a
    string that eats the code), so when its triple quotes are unbalanced it is also read with
    an opening quote prepended, and the reading with more tokens wins.
    """
    tokens = tokenize(region.code, region.language, offsets)
    if region.language != PYTHON:
        return tokens
    for quote in ('"""', "'''"):
        if region.code.count(quote) % 2:  # unbalanced: may start inside a docstring
            other = tokenize(quote + region.code, region.language, offsets)
            if len(other.values) > len(tokens.values):
                shift = len(quote)
                starts = [max(0, s - shift) for s in other.starts]
                ends = [max(0, e - shift) for e in other.ends]
                tokens = Tokens(other.values, other.lines, starts, ends)
    return tokens


def _overlap(a: _Fragment, b: _Fragment) -> int:
    """How many query tokens two fragments share."""
    return max(0, min(a.qlast, b.qlast) - max(a.qfirst, b.qfirst) + 1)


def _fragments(
    channel: Channel,
    where: dict[int, list[int]],
    postings: dict[int, list[tuple[int, int, int]]],
    tokens: Tokens,
) -> list[_Fragment]:
    """Pool one channel's hits by (file, offset ± slack) into fragments."""
    hits = []
    for h, qpositions in where.items():
        rows = postings.get(h)
        if rows:
            for file_id, pos, line in rows:
                for qpos in qpositions:
                    hits.append((file_id, pos - qpos, qpos, pos, line))
    if not hits:
        return []
    hits.sort()
    k = channel.k
    qlines = tokens.lines
    out = []
    group = [hits[0]]
    for hit in hits[1:]:
        last = group[-1]
        if hit[0] == last[0] and hit[1] - last[1] <= DIAGONAL_SLACK:
            group.append(hit)
        else:
            out.append(_fragment(group, k, qlines, channel))
            group = [hit]
    out.append(_fragment(group, k, qlines, channel))
    return out


def _fragment(
    group: list[tuple[int, int, int, int, int]], k: int, qlines: list[int], channel: Channel
) -> _Fragment:
    """Coverage and line span of one pooled group of hits."""
    covered: set[int] = set()
    for _, _, qpos, _, _ in group:
        covered.update(range(qpos, qpos + k))
    first = min(group, key=lambda h: h[3])
    last = max(group, key=lambda h: h[3])
    tail = min(last[2] + k - 1, len(qlines) - 1)
    return _Fragment(
        file_id=group[0][0],
        covered=len(covered),
        qfirst=min(covered),
        qlast=min(max(covered), len(qlines) - 1),
        start_line=first[4],
        end_line=last[4] + qlines[tail] - qlines[last[2]],
        channel=channel,
    )

"""Query the code index: every k-gram of the text, hits pooled by file and diagonal offset.

A fragment is a run of query k-grams that hit one file at a near-constant offset (±3 tokens);
its coverage is the number of query tokens those k-grams cover. The raw channel catches
exact / reformatted / re-commented excerpts, the renamed channel catches renamed ones.
"""

from __future__ import annotations

import sqlite3
import threading
from array import array
from bisect import bisect_left
from collections import defaultdict
from pathlib import Path

from egress_watch.classify.proprietary import idioms
from egress_watch.classify.proprietary.excerpts import excerpt_tokens
from egress_watch.classify.proprietary.fragments import (
    Fragment,
    overlap,
    pool_fragments,
    preference,
)
from egress_watch.classify.proprietary.index import MAX_POSTINGS_PER_HASH, open_index
from egress_watch.classify.proprietary.lines import KnownLines, family_of_lines, windows
from egress_watch.classify.proprietary.postings_reader import Reader
from egress_watch.classify.proprietary.prompt import GUESS_CHARS, Region, code_regions
from egress_watch.classify.proprietary.shared import shared_array
from egress_watch.classify.proprietary.thresholds import CodeMatch, Thresholds, is_example_path
from egress_watch.classify.proprietary.tokenize import Tokens
from egress_watch.classify.proprietary.winnow import (
    CHANNELS,
    RAW,
    RENAMED,
    channel_ids,
    kgram_hashes,
    winnow,
)

PREFILTER_CHARS = 20_000
"""Longer regions are tokenized only around lines the index knows (see ``lines.py``)."""
ALL_KGRAMS_UP_TO = 600  # tokens; longer regions look up their winnowed k-grams only
CHUNK = 500


class Matcher:
    """Matches text against an index file; reloads its file table when the index changes."""

    def __init__(self, path: Path, thresholds: Thresholds | None = None) -> None:
        self._conn: sqlite3.Connection = open_index(path, create=False)
        self._reader = Reader(self._conn)
        self.thresholds = thresholds or Thresholds()
        self._lock = threading.Lock()
        self._generation: str | None = None
        self._files: dict[int, tuple[str, str]] = {}
        self._family: dict[int, str] = {}
        """Each live file's language family: a region is matched only against its own."""
        self._families: frozenset[str] = frozenset()
        self._common: set[int] = set()
        self._public: array[int] = array("i")
        """The background's k-grams, sorted: shape that public code shares."""
        self._known_lines = KnownLines(array("i"))

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
            whole = len(text) <= PREFILTER_CHARS
            for offset, part in self._worth_reading(text):
                for region in code_regions(part, language, self._families):
                    start = offset + region.offset
                    found += self._match_guessed(region, start, whole)
        return sorted(found, key=lambda m: -m.tokens)

    def _match_guessed(self, region: Region, start: int, whole: bool) -> list[CodeMatch]:
        """Matches of a region in its guessed family, else in the next ones in turn (an
        ambiguous guess), else in the family of the indexed files that hold its lines.

        Idioms can mislead by a wide margin (re-indented Go reads as Python or JavaScript), but
        a copy keeps its lines even when re-indented or re-spaced: when the index knows a good
        part of them, the files holding them say which family to read the region in. A
        family named by a fence tag or the caller is kept.
        """
        families = [region.language, *region.others]
        for family in families:
            if family not in self._families:
                continue  # no indexed file of that family: nothing to find
            matches = self._match_region(Region(start, region.code, family), whole)
            if matches:
                return matches
        holding = None
        if not region.named:
            holding = family_of_lines(
                region.code[:GUESS_CHARS], self._known_lines, self._files_of_lines, self._family
            )
        if holding is None or holding in families:
            return []
        return self._match_region(Region(start, region.code, holding), whole)

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
        rows = self._conn.execute(
            "SELECT f.id, r.name, f.path, f.lang FROM files f JOIN repos r ON r.id = f.repo_id"
        ).fetchall()
        self._files = {file_id: (repo, path) for file_id, repo, path, _ in rows}
        self._family = {file_id: lang for file_id, _, _, lang in rows}
        self._families = frozenset(self._family.values())
        self._common = {h for (h,) in self._conn.execute("SELECT hash FROM common")}
        self._common |= idioms.common(self._conn, self._df_cap())  # counted over every k-gram
        self._public = self._background()
        self._known_lines = KnownLines(
            array(
                "i",
                (
                    h
                    for (h,) in self._conn.execute(
                        "SELECT hash FROM lines GROUP BY hash HAVING COUNT(*) <= ? ORDER BY hash",
                        (self._df_cap(),),
                    )
                ),
            )
        )
        self._generation = generation

    def _background(self) -> array[int]:
        """The background's hashes, sorted (its machine-wide file, else the index's table)."""
        row = self._conn.execute("SELECT value FROM meta WHERE key='background_file'").fetchone()
        public = shared_array(Path(row[0])) if row and row[0] else None
        if public is None:
            rows = self._conn.execute("SELECT hash FROM background ORDER BY hash")
            public = array("i", (h for (h,) in rows))
        return public

    def _is_public(self, h: int) -> bool:
        """True for a k-gram of public code or of the index's own boilerplate."""
        if h in self._common:
            return True
        public = self._public
        i = bisect_left(public, h)
        return i < len(public) and public[i] == h

    def _public_tokens(self, shapes: list[int], total: int) -> int:
        """Query tokens whose every rename-proof k-gram is public shape: no index stores
        them, so they cannot count against an excerpt's share (at most half the query)."""
        k = RENAMED.k
        private = bytearray(total)
        for i, h in enumerate(shapes):
            if not self._is_public(h):
                private[i : i + k] = b"\x01" * k
        return min(total - sum(private), total // 2)

    def _df_cap(self) -> int:
        """In more files than this, a k-gram or a line is the index's own boilerplate."""
        return max(self.thresholds.df_min, int(self.thresholds.df_fraction * len(self._files)))

    def _worth_reading(self, text: str) -> list[tuple[int, str]]:
        """The text itself, or for a long one the stretches around lines the index knows
        (with their offsets)."""
        if len(text) <= PREFILTER_CHARS:
            return [(0, text)]
        spans = windows(text, self._known_lines, self._files_of_lines)
        return [(start, text[start:end]) for start, end in spans]

    def _files_of_lines(self, hashes: set[int]) -> dict[int, set[int]]:
        """The live files holding each of these line hashes."""
        where: dict[int, set[int]] = defaultdict(set)
        ordered = list(hashes)
        for i in range(0, len(ordered), CHUNK):
            chunk = ordered[i : i + CHUNK]
            marks = ",".join("?" * len(chunk))
            for value, file_id in self._conn.execute(
                f"SELECT hash, file_id FROM lines WHERE hash IN ({marks})",  # noqa: S608
                chunk,
            ):
                if file_id in self._files:
                    where[value].add(file_id)
        return where

    def _match_region(self, region: Region, every_kgram: bool = True) -> list[CodeMatch]:
        """Fragments of one code region above the thresholds, non-overlapping in the query.

        Without ``every_kgram`` (a stretch of a long text) only the winnowed k-grams are
        looked up: a third as many, and still every run the index shares of at least
        w + k - 1 tokens, far below what reports inside a long text.
        """
        tokens = excerpt_tokens(region)
        if len(tokens.values) < RAW.k:
            return []
        cache: dict[str, int] = {}
        queries = []
        long = len(tokens.values) > ALL_KGRAMS_UP_TO or not every_kgram
        shapes: list[int] = []
        for channel in CHANNELS:
            hashes = kgram_hashes(channel_ids(tokens, channel, cache), channel)
            if channel.renamed:
                shapes = hashes
            # Every k-gram of a short query is looked up (its edges matter); a long one only
            # needs its winnowed k-grams, which are the ones the index kept inside any shared run.
            positions = winnow(hashes, channel.w) if long else range(len(hashes))
            where: dict[int, list[int]] = defaultdict(list)
            for qpos in positions:
                where[hashes[qpos]].append(qpos)
            queries.append((channel, where))
        postings = self._postings({h for _, where in queries for h in where}, region.language)
        fragments = pool_fragments(queries, postings, tokens)
        if not any(self.thresholds.passes(f.covered, f.exact, 1.0) for f in fragments):
            return []
        total = len(tokens.values)
        private = total
        limits = self.thresholds
        if not long and any(f.covered >= limits.renamed for f in fragments):
            private -= self._public_tokens(shapes, total)
        return self._select(fragments, tokens, region, private)

    def _postings(self, hashes: set[int], family: str) -> dict[int, list[tuple[int, int, int]]]:
        """(file, position, line) per hash in live files of ``family``, minus boilerplate
        hashes (counted over every family). Hashes found to be boilerplate are remembered
        until the index changes, so later texts do not read their long postings again."""
        cap = self._df_cap()
        family_of = self._family
        out: dict[int, list[tuple[int, int, int]]] = {}
        common = self._common
        for h, rows in self._reader.grouped(hashes - common).items():
            live = [row for row in rows if row[0] in family_of]
            if len(live) > MAX_POSTINGS_PER_HASH or (
                len(live) > cap and len({row[0] for row in live}) > cap
            ):
                common.add(h)  # in more files than the cap, or stored too often
                continue
            mine = [row for row in live if family_of[row[0]] == family]
            if mine:
                out[h] = mine
        return out

    def _select(
        self, fragments: list[Fragment], tokens: Tokens, region: Region, private: int
    ) -> list[CodeMatch]:
        """Fragments over their channel's threshold, greedily, without overlapping ones
        (``private``: the query's tokens that are not public shape)."""
        limits = self.thresholds
        total = len(tokens.values)

        taken: list[Fragment] = []
        for frag in sorted(fragments, key=preference):
            if not limits.passes(
                frag.covered,
                frag.exact,
                frag.covered / total,
                min(1.0, frag.covered / private),
                example=is_example_path(self._files[frag.file_id][1]),
            ):
                continue
            if any(overlap(frag, t) > 0.5 * (frag.qlast - frag.qfirst + 1) for t in taken):
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
                    channel=RAW.name if 2 * frag.exact >= frag.covered else "renamed",
                    exact_tokens=frag.exact,
                    private_score=round(min(1.0, frag.covered / private), 3),
                )
            )
        return out


__all__ = ["CodeMatch", "Matcher", "Thresholds"]

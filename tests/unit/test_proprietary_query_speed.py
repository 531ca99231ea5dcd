"""The query path's faster forms give exactly what the plain ones gave: idiom counts, one-hit
fragments, postings read from segments merged in memory; and a region that could match no
indexed file is not read at all."""

from __future__ import annotations

import random
import sqlite3
from array import array
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from egress_watch.classify.proprietary import prompt
from egress_watch.classify.proprietary.fragments import Hit, pooled, single_hit
from egress_watch.classify.proprietary.guess_weights import IDIOMS
from egress_watch.classify.proprietary.idiom_counts import IdiomCounter, weighted
from egress_watch.classify.proprietary.index import open_index
from egress_watch.classify.proprietary.matcher import CodeMatch, Matcher
from egress_watch.classify.proprietary.postings import Pending, write_segment
from egress_watch.classify.proprietary.postings_reader import Reader, lookup
from egress_watch.classify.proprietary.prompt import Region
from egress_watch.classify.proprietary.tokenize import GO
from tests.support.code_index import index_files
from tests.support.own_code import own_source
from tests.unit.test_proprietary_languages import GO_FILE

_IDIOM_PIECES = sorted({idiom for idiom in [*prompt._HAND, *IDIOMS]})


def _samples() -> list[str]:
    """Code of several languages, and text with no idiom of one kind (so skips happen)."""
    python = own_source("classify/proprietary/matcher.py").read_text()
    go = "func (s *Server) Run() error {\n\tif err != nil {\n\t\treturn nil, err\n\t}\n}\n"
    js = "const x = require('x');\nmodule.exports = function (a) { return a === undefined; };\n"
    java = "public static void main(String[] args) {\n  System.out.println(args);\n}\n"
    return [python[:4000], go * 20, js * 20, java * 20, "no idioms here at all", ""]


def test_idiom_counts_are_exactly_str_count_for_every_idiom() -> None:
    counter = IdiomCounter(_IDIOM_PIECES)
    assert counter.self_overlapping  # both ways of counting are taken
    for sample in _samples():
        counts = counter.counts(sample)
        assert counts == {idiom: sample.count(idiom) for idiom in _IDIOM_PIECES}


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.sampled_from([*_IDIOM_PIECES, " ", "x", "\n", "(", "f", "é", "🙂"]), max_size=60)
)
def test_idiom_counts_match_str_count_on_idiom_soup(pieces: list[str]) -> None:
    """Idioms glued together overlap in every way (``"    "`` in ``"\\n    }"``), also
    after characters outside ASCII."""
    sample = "".join(pieces)
    counts = prompt._COUNTER.counts(sample)
    assert counts == {idiom: sample.count(idiom) for idiom in prompt._COUNTER.order}


def test_both_tables_score_as_they_did_with_their_own_counts() -> None:
    for sample in _samples():
        counts = prompt._COUNTER.counts(sample)
        assert weighted(counts, prompt._HAND, None) == prompt.idiom_scores(
            sample, prompt._HAND, None
        )
        assert weighted(counts, IDIOMS, prompt.IDIOM_CAP) == prompt.idiom_scores(sample, IDIOMS)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 60),
    st.integers(1, 5_000),
    st.sampled_from([8, 12]),
    st.booleans(),
    st.lists(st.integers(0, 3), min_size=1, max_size=80),
)
def test_a_one_hit_fragment_is_what_pooling_it_gives(
    qpos: int, line: int, k: int, exact: bool, steps: list[int]
) -> None:
    qlines = [1]
    for step in steps:
        qlines.append(qlines[-1] + step)
    qpos = min(qpos, max(0, len(qlines) - k))
    hit: Hit = (7, 100 - qpos, qpos, 100, line, k, exact)
    assert single_hit(hit, qlines) == pooled([hit], qlines)


def _write(conn: sqlite3.Connection, rng: random.Random, size: int, wide: bool) -> list[Row]:
    """One segment of ``size`` random postings (3-byte positions when ``wide``)."""
    pending = Pending()
    written: list[Row] = []
    for file_id in range(1, 4):
        hashes = array("i", [rng.randrange(-(2**31), 2**31) for _ in range(size)])
        top = (1 << 20) if wide else 60_000
        positions = array("I", [rng.randrange(0, top) for _ in range(size)])
        lines = array("I", [rng.randrange(0, 5_000) for _ in range(size)])
        pending.add(hashes, file_id, positions, lines)
        written += zip(hashes, [file_id] * size, positions, lines, strict=True)
    write_segment(conn, pending)
    return written


Row = tuple[int, int, int, int]


def test_segments_merged_in_memory_find_what_sqlite_finds(tmp_path: Path) -> None:
    """Segments of one width are searched as one merged copy; mixed widths one by one."""
    rng = random.Random(11)  # noqa: S311 - test data, not a secret
    for wide_last, copies in ((False, 1), (True, 3)):
        conn = open_index(tmp_path / f"i{wide_last}.db")
        written: list[Row] = []
        for size, wide in ((3_000, False), (900, False), (200, wide_last)):  # never merged
            written += _write(conn, rng, size, wide)
        segments = conn.execute("SELECT COUNT(*) FROM segments").fetchone()[0]
        assert segments == 3
        # Present hashes, a hash stored twice in one bucket, and absent ones.
        wanted = {h for h, _, _, _ in written[::7]} | {
            rng.randrange(-(2**31), 2**31) for _ in range(300)
        }
        reader = Reader(conn)
        in_memory = sorted(reader.lookup(wanted))
        assert reader._loaded is not None
        assert len(reader._loaded) == copies
        assert in_memory == sorted(lookup(conn, wanted))
        assert in_memory == sorted(row for row in written if row[0] in wanted)
        conn.close()


def test_a_region_of_a_family_the_index_lacks_is_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only Go is indexed: the JavaScript-tagged copy is skipped before tokenizing (it could
    match no file), the Go-tagged copy is read and found."""
    db = index_files(tmp_path, {"store.go": GO_FILE})
    body = GO_FILE.split("\n", 2)[2]
    matcher = Matcher(db)
    read: list[str] = []
    match_region = matcher._match_region

    def reading(region: Region, every_kgram: bool = True) -> list[CodeMatch]:
        read.append(region.language)
        return match_region(region, every_kgram)

    monkeypatch.setattr(matcher, "_match_region", reading)
    [found] = matcher.match(f"```js\n{body}```\n\n```go\n{body}```\n")
    assert found.path == "store.go"
    assert found.start > len(body)  # the Go copy, after the JavaScript one
    assert read == [GO]

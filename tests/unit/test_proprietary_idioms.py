"""A repository's own idioms never make a match: how many files hold a k-gram is counted over
every k-gram of each file, not only the winnowed ones the index stores (issue 17, item 3)."""

from __future__ import annotations

import sqlite3
from array import array
from pathlib import Path

from egress_watch.classify.proprietary import idioms
from egress_watch.classify.proprietary.index import open_index
from egress_watch.classify.proprietary.matcher import Matcher, Thresholds
from egress_watch.classify.proprietary.repos import add_repo, remove_repo
from egress_watch.classify.proprietary.tokenize import PYTHON, tokenize
from egress_watch.classify.proprietary.winnow import RAW, channel_ids, kgram_hashes, winnow
from tests.support.code_index import index_files

IDIOM = "    if result is None:\n        raise LookupError(name)\n"
"""Ten tokens: shorter than winnowing's guarantee (w + k - 1), so which of its k-grams a file
keeps depends on the code around it."""
FILES = 12


def _module(i: int, idiom: str = IDIOM) -> str:
    """A function of its own around the idiom."""
    return (
        f"def handler_{i}(items_{i}, key_{i}):\n"
        f"    total_{i} = sum(len(x) * {i * 7 + 3} for x in items_{i})\n"
        f"    result = lookup_{i}(key_{i}, total_{i})\n"
        + idiom
        + f"    return result + {i * 11 + 5}\n"
    )


def _raw_kgrams(text: str) -> list[int]:
    return kgram_hashes(channel_ids(tokenize(text, PYTHON, False), RAW, {}), RAW)


def _files() -> dict[str, str]:
    return {f"mod_{i}.py": _module(i) for i in range(FILES)}


def test_an_idiom_kept_by_winnowing_in_few_files_is_common(tmp_path: Path) -> None:
    files = _files()
    cap = Thresholds().df_min  # 12 files: the cap is its floor
    idiom = set(_raw_kgrams(IDIOM.strip()))
    stored = dict.fromkeys(idiom, 0)
    for text in files.values():
        hashes = _raw_kgrams(text)
        assert idiom <= set(hashes)  # every file holds every k-gram of the idiom...
        for i in winnow(hashes, RAW.w):
            if hashes[i] in stored:
                stored[hashes[i]] += 1
    assert 0 < max(stored.values()) <= cap  # ...but stores some in a few files only
    matcher = Matcher(index_files(tmp_path, files))
    try:
        # Counting files among the stored k-grams alone, the idiom matched one of its files.
        assert matcher.match(IDIOM) == []
        found = matcher.match(_module(3))
        assert [m.path for m in found] == ["mod_3.py"]  # a file's own code still matches
    finally:
        matcher.close()


def _idiom_rows(db: Path) -> set[int]:
    conn = sqlite3.connect(db)
    try:
        return idioms.common(conn, Thresholds().df_min)
    finally:
        conn.close()


def test_counts_follow_changed_files_and_removed_repositories(tmp_path: Path) -> None:
    db = index_files(tmp_path, _files())
    idiom = set(_raw_kgrams(IDIOM.strip()))
    assert idiom <= _idiom_rows(db)
    others = {h for i in range(FILES) if i != 3 for h in _raw_kgrams(_module(i))}
    assert set(_raw_kgrams(_module(3))) - others  # some code of its own...
    assert not (set(_raw_kgrams(_module(3))) - others) & _idiom_rows(db)  # ...is no idiom
    # A changed file is re-read alone: the counts of the others are kept, the idiom stays.
    repo = tmp_path / "repo"
    (repo / "mod_0.py").write_text(_module(0, idiom="    pass\n"))
    conn = open_index(db)
    stats = add_repo(conn, repo, "repo")
    assert stats.files_read == 1
    conn.close()
    assert idiom <= _idiom_rows(db)
    matcher = Matcher(db)
    assert matcher.match(IDIOM) == []
    matcher.close()
    # Removing the repository removes its counts.
    conn = open_index(db)
    remove_repo(conn, "repo")
    assert conn.execute("SELECT COUNT(*) FROM idioms").fetchone()[0] == 0
    conn.close()


def test_counting_keeps_frequent_kgrams_in_bounded_memory() -> None:
    counts = idioms.FileCounts(limit=100)
    for i in range(50):
        # Each file: the two shared k-grams and ten of its own.
        counts.add(array("i", [7, 8, *range(1000 * i + 100, 1000 * i + 110)]))
        assert len(counts.counts) <= 100
    assert counts.frequent(more_than=idioms.FLOOR) == [(7, 50), (8, 50)]

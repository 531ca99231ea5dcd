"""A repository's own idioms never make a match: how many files hold a k-gram is counted over
every k-gram of each file, not only the winnowed ones the index stores (issue 17, item 3)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from array import array
from collections import Counter
from pathlib import Path

from egress_watch.classify.proprietary import idioms
from egress_watch.classify.proprietary.background import public_hashes
from egress_watch.classify.proprietary.file_counts import FileCounts
from egress_watch.classify.proprietary.index import open_index
from egress_watch.classify.proprietary.matcher import Matcher, Thresholds
from egress_watch.classify.proprietary.repos import add_repo, remove_repo
from egress_watch.classify.proprietary.tokenize import PYTHON, tokenize
from egress_watch.classify.proprietary.winnow import (
    CHANNELS,
    RAW,
    channel_ids,
    kgram_hashes,
    winnow,
)
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
    counts = FileCounts(limit=100)
    for i in range(50):
        # Each file: the two shared k-grams and ten of its own.
        counts.add(array("i", [7, 8, *range(1000 * i + 100, 1000 * i + 110)]))
        assert len(counts) <= 100
    assert counts.frequent(more_than=idioms.FLOOR) == [(7, 50), (8, 50)]


PUBLIC_IDIOM = "    if response.status != 200:\n        raise RuntimeError(response.reason)\n"
"""An idiom of public code too: the background holds its k-grams."""


def _every_kgram(text: str) -> set[int]:
    """Every k-gram of every channel of a Python file, as the index counts them."""
    tokens = tokenize(text, PYTHON, False)
    return {h for c in CHANNELS for h in kgram_hashes(channel_ids(tokens, c, {}), c)}


def test_stored_idioms_are_the_private_kgrams_in_many_files_exactly(tmp_path: Path) -> None:
    """Files' k-grams now come with the public ones; the idioms kept are still exactly those
    counted over each file's private k-grams, as before."""
    files = {f"mod_{i}.py": _module(i) + _module(i + 50, PUBLIC_IDIOM) for i in range(FILES)}
    public = tmp_path / "public"
    public.mkdir()
    for i in (1, 2):
        (public / f"lib_{i}.py").write_text(_module(100 + i, PUBLIC_IDIOM))
    db = index_files(tmp_path, files, public=public)
    conn = sqlite3.connect(db)
    stored = set(conn.execute("SELECT hash, files FROM idioms"))
    conn.close()
    background = public_hashes(open_index(db))
    counted: Counter[int] = Counter()
    for text in files.values():
        counted.update(_every_kgram(text) - background)
    expected = {(h, n) for h, n in counted.items() if n > idioms.FLOOR}
    assert stored == expected
    idiom = _every_kgram(IDIOM.strip())
    assert idiom <= {h for h, _ in stored}  # the private idiom is kept...
    shared = _every_kgram(PUBLIC_IDIOM.strip()) & background
    assert shared  # ...the public one is in the background...
    assert not shared & {h for h, _ in stored}  # ...and never kept, though in every file


WORKERS_SCRIPT = """
import json, sys
from pathlib import Path
from egress_watch.classify.proprietary import jobs
from egress_watch.classify.proprietary.background import public_hashes
from egress_watch.classify.proprietary.index import open_index
from egress_watch.classify.proprietary.postings import count
from egress_watch.classify.proprietary.repos import add_repo

jobs.PARALLEL_FROM_BYTES = 0
jobs.PARALLEL_WARM_FROM_BYTES = 0
conn = open_index(Path(sys.argv[1]))
add_repo(conn, Path(sys.argv[2]), "first")
alone = jobs._pool is None  # a lone add stops its workers (children hold the caller's files)
with jobs.kept_workers():
    add_repo(conn, Path(sys.argv[2]), "second")
    pool = jobs._pool
    add_repo(conn, Path(sys.argv[3]), "third")
    reused = pool is not None and jobs._pool is pool
stopped = jobs._pool is None
print(json.dumps({"alone": alone, "reused": reused, "stopped": stopped,
                  "postings": count(conn), "parent_cache": len(jobs._cache)}))
"""


def test_workers_are_kept_between_adds_only_when_asked(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    for root, offset in ((first, 0), (second, 100)):
        root.mkdir()
        for i in range(6):
            (root / f"mod_{i}.py").write_text(_module(i + offset))
    child = subprocess.run(
        [sys.executable, "-c", WORKERS_SCRIPT, str(tmp_path / "i.db"), str(first), str(second)],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parents[2],
        check=True,
        timeout=120,
    )
    report = json.loads(child.stdout)
    assert report == {
        "alone": True,
        "reused": True,
        "stopped": True,
        "postings": report["postings"],
        "parent_cache": 0,  # the workers did the fingerprinting
    }
    assert report["postings"] > 0

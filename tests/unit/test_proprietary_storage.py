"""The index's packed postings (format 4): what is stored is exactly what was fingerprinted,
lookups return exactly the rows the one-row-per-posting format returned, older formats are
recovered by ``index rebuild``, and the index stays small."""

from __future__ import annotations

import random
import shutil
import sqlite3
from array import array
from collections import Counter
from pathlib import Path

import pytest

from egress_watch.classify.proprietary import jobs, postings_reader, winnow_np
from egress_watch.classify.proprietary.background import build_background, public_hashes
from egress_watch.classify.proprietary.files import candidates
from egress_watch.classify.proprietary.index import (
    FORMAT,
    MAX_POSTINGS_PER_HASH,
    CodeIndexError,
    open_index,
    refresh_common,
)
from egress_watch.classify.proprietary.matcher import Matcher
from egress_watch.classify.proprietary.postings import (
    MAX_SEGMENTS,
    Pending,
    count,
    every_posting,
    write_segment,
)
from egress_watch.classify.proprietary.postings_reader import Reader, lookup
from egress_watch.classify.proprietary.repos import add_repo, rebuild, remove_repo
from tests.support.own_code import own_source

PACKAGE = Path(__file__).parents[2] / "egress_watch"
Row = tuple[int, str, int, int]


def _copy(target: Path, names: list[str]) -> Path:
    """A plain folder holding copies of these modules of this project."""
    target.mkdir(parents=True)
    for name in names:
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(own_source(name), target / name)
    return target


def _fingerprinted(root: Path, public: frozenset[int]) -> list[Row]:
    """What the one-row-per-posting format stored for ``root``: every file's winnowed
    k-grams, computed here straight from the fingerprinting code."""
    jobs._start_worker(winnow_np.sorted_background(public))
    rows: list[Row] = []
    for candidate in candidates(root):
        result = jobs.fingerprint_file(str(root), candidate.path)
        rows += {
            (h, candidate.path, p, line)
            for h, p, line in zip(result.hashes, result.positions, result.lines, strict=True)
        }
    return sorted(rows)


def _fingerprinted_lines(root: Path, public: frozenset[int]) -> list[tuple[int, str]]:
    """(line hash, path) of every file's known lines, straight from the fingerprinting code."""
    jobs._start_worker(winnow_np.sorted_background(public))
    rows = []
    for candidate in candidates(root):
        result = jobs.fingerprint_file(str(root), candidate.path)
        rows += [(h, candidate.path) for h in result.line_hashes]
    return sorted(rows)


def _stored(conn: sqlite3.Connection) -> list[Row]:
    paths = dict(conn.execute("SELECT id, path FROM files"))
    return sorted((h, paths[f], p, line) for h, f, p, line in every_posting(conn) if f in paths)


def test_the_packed_postings_are_exactly_the_fingerprints_and_lookups_find_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = [
        "policy.py",
        "pipeline.py",
        "settings.py",
        "classify/secrets.py",
        "cli.py",
        "classify/engine.py",
    ]
    repo = _copy(tmp_path / "repo", names)
    conn = open_index(tmp_path / "i.db")
    add_repo(conn, repo, "repo")
    expected = _fingerprinted(repo, public_hashes(conn))
    assert len(expected) > 5_000
    assert _stored(conn) == expected
    paths = dict(conn.execute("SELECT id, path FROM files"))
    lines = sorted((h, paths[f]) for h, f in conn.execute("SELECT hash, file_id FROM lines"))
    assert lines == _fingerprinted_lines(repo, public_hashes(conn))
    assert len(lines) > 500

    # A lookup returns, for any set of hashes, exactly the rows a
    # "SELECT ... FROM postings WHERE hash IN (...)" of the old format returned.
    rng = random.Random(3)  # noqa: S311 - a fixed sample, not a secret
    present = sorted({h for h, _, _, _ in expected})
    wanted = set(rng.sample(present, 400)) | {rng.randrange(-(2**31), 2**31) for _ in range(200)}
    expected_found = [row for row in expected if row[0] in wanted]
    found = sorted((h, paths[f], p, line) for h, f, p, line in lookup(conn, wanted))
    assert found == expected_found
    # A matcher's reader finds the same from its copy in memory, and from SQLite when the
    # index is too large to copy.
    in_memory = sorted((h, paths[f], p, line) for h, f, p, line in Reader(conn).lookup(wanted))
    assert in_memory == expected_found
    monkeypatch.setattr(postings_reader, "IN_MEMORY_BYTES", 0)
    from_disk = sorted((h, paths[f], p, line) for h, f, p, line in Reader(conn).lookup(wanted))
    assert from_disk == expected_found
    conn.close()


def test_a_matchers_reader_sees_the_index_change(tmp_path: Path) -> None:
    first = _copy(tmp_path / "first", ["policy.py"])
    second = _copy(tmp_path / "second", ["pipeline.py"])
    conn = open_index(tmp_path / "i.db")
    add_repo(conn, first, "first")
    reader = Reader(open_index(tmp_path / "i.db", create=False))
    hashes = {h for h, _, _, _ in _fingerprinted(second, public_hashes(conn))}
    before = reader.lookup(hashes)  # a few idioms policy.py shares with pipeline.py
    assert len(before) < len(hashes) // 10
    add_repo(conn, second, "second")  # another connection, as `index add` beside the proxy
    assert len(reader.lookup(hashes)) >= len(before) + len(hashes)
    conn.close()


def test_wide_values_and_many_segments_round_trip(tmp_path: Path) -> None:
    """File ids, positions and lines past 16 bits take 3 or 4 bytes; segments written one
    after another are merged down to a few, and every posting survives."""
    conn = open_index(tmp_path / "i.db")
    rng = random.Random(5)  # noqa: S311 - test data, not a secret
    written: list[tuple[int, int, int, int]] = []
    for segment in range(12):
        pending = Pending()
        for file_id in range(segment * 70_000, segment * 70_000 + 3):
            size = rng.randrange(1, 400)
            hashes = array("i", [rng.randrange(-(2**31), 2**31) for _ in range(size)])
            positions = array("I", [rng.randrange(0, 1 << 20) for _ in range(size)])
            lines = array("I", [rng.randrange(0, 70_000) for _ in range(size)])
            pending.add(hashes, file_id, positions, lines)
            written += zip(hashes, [file_id] * size, positions, lines, strict=True)
        write_segment(conn, pending)
    assert len(pending) == 0
    segments = conn.execute("SELECT COUNT(*), MAX(file_bytes) FROM segments").fetchone()
    assert 1 <= segments[0] <= MAX_SEGMENTS
    assert segments[1] == 3  # file ids up to 770,002
    assert sorted(every_posting(conn)) == sorted(written)
    assert count(conn) == len(written)
    some = {h for h, _, _, _ in written[::50]}
    assert sorted(lookup(conn, some)) == sorted(row for row in written if row[0] in some)


def test_changed_and_removed_files_leave_no_postings_behind(tmp_path: Path) -> None:
    repo = _copy(tmp_path / "repo", ["policy.py", "pipeline.py", "settings.py"])
    other = _copy(tmp_path / "other", ["cli.py"])
    conn = open_index(tmp_path / "i.db")
    add_repo(conn, repo, "repo")
    add_repo(conn, other, "other")
    (repo / "policy.py").write_text("def replaced():\n    return 'nothing of the old file'\n")
    (repo / "settings.py").unlink()
    before = dict(conn.execute("SELECT path, id FROM files"))
    add_repo(conn, repo, "repo")
    after = dict(conn.execute("SELECT path, id FROM files"))
    assert after["pipeline.py"] == before["pipeline.py"]  # unchanged: not read again
    assert after["policy.py"] > max(before.values())  # a changed file's id is never reused
    assert "settings.py" not in after
    remove_repo(conn, "other")  # purges every dead file's postings
    public = public_hashes(conn)
    assert _stored(conn) == _fingerprinted(repo, public)
    assert count(conn) == len(_stored(conn))
    conn.close()


def test_a_larger_background_drops_the_postings_it_makes_public(tmp_path: Path) -> None:
    repo = _copy(tmp_path / "repo", ["policy.py", "pipeline.py", "settings.py"])
    first = tmp_path / "first"
    first.mkdir()
    for name in ("a.py", "b.py"):
        shutil.copy(own_source("settings.py"), first / name)
    second = tmp_path / "second"
    second.mkdir()
    for name in ("c.py", "d.py"):
        shutil.copy(own_source("policy.py"), second / name)
    conn = open_index(tmp_path / "i.db")
    build_background(conn, [first])
    add_repo(conn, repo, "repo")
    before = count(conn)
    assert _stored(conn) == _fingerprinted(repo, public_hashes(conn))
    build_background(conn, [first, second])  # more public code: no re-index needed
    common = public_hashes(conn)
    stored = _stored(conn)
    assert not any(h in common for h, _, _, _ in stored)
    assert stored == _fingerprinted(repo, common)
    assert {path for _, path, _, _ in stored} == {"pipeline.py"}  # the others are public
    assert count(conn) < before
    conn.close()


FORMAT_3 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE repos (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, root TEXT NOT NULL,
    indexed_at TEXT, files INTEGER NOT NULL DEFAULT 0, bytes INTEGER NOT NULL DEFAULT 0);
CREATE TABLE files (id INTEGER PRIMARY KEY AUTOINCREMENT, repo_id INTEGER NOT NULL,
    path TEXT NOT NULL, key TEXT NOT NULL, bytes INTEGER NOT NULL,
    lang TEXT NOT NULL DEFAULT 'generic', UNIQUE (repo_id, path));
CREATE TABLE postings (hash INTEGER NOT NULL, file_id INTEGER NOT NULL, pos INTEGER NOT NULL,
    line INTEGER NOT NULL, PRIMARY KEY (hash, file_id, pos)) WITHOUT ROWID;
CREATE TABLE common (hash INTEGER PRIMARY KEY);
CREATE TABLE background (hash INTEGER PRIMARY KEY);
CREATE TABLE lines (hash INTEGER NOT NULL, file_id INTEGER NOT NULL,
    PRIMARY KEY (hash, file_id)) WITHOUT ROWID;
"""


def test_an_index_in_format_3_is_refused_then_recovered_by_rebuild(tmp_path: Path) -> None:
    repo = _copy(tmp_path / "repo", ["policy.py", "pipeline.py"])
    db = tmp_path / "code-index.db"
    old = sqlite3.connect(db)  # what format 3 wrote: one row per posting
    old.executescript(FORMAT_3)
    old.execute("INSERT INTO meta VALUES ('format', '3-py3.12')")
    old.execute("INSERT INTO repos (name, root, indexed_at) VALUES ('repo', ?, 'x')", (str(repo),))
    old.execute("INSERT INTO files (repo_id, path, key, bytes) VALUES (1, 'policy.py', 'k', 1)")
    old.executemany(
        "INSERT INTO postings VALUES (?, 1, ?, ?)", ((i * 7919, i, i // 10) for i in range(50_000))
    )
    old.commit()
    old.close()
    size_before = db.stat().st_size
    with pytest.raises(CodeIndexError, match="index rebuild"):
        open_index(db)
    with pytest.raises(CodeIndexError, match="index rebuild"):
        Matcher(db)
    conn = open_index(db, reset=True)
    rebuild(conn, None)
    assert conn.execute("SELECT value FROM meta WHERE key='format'").fetchone()[0] == FORMAT
    tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_schema")}
    assert "postings" not in tables
    assert _stored(conn) == _fingerprinted(repo, public_hashes(conn))
    conn.close()
    assert db.stat().st_size < size_before  # the old rows' space is given back
    excerpt = "\n".join((repo / "policy.py").read_text().split("\n")[100:130])
    assert [m.path for m in Matcher(db).match(excerpt)][:1] == ["policy.py"]


def test_the_index_takes_at_most_one_and_a_half_times_its_source(tmp_path: Path) -> None:
    """The issue's size target, on this project's own code (about 1 MB of Python)."""
    repo = tmp_path / "repo"
    shutil.copytree(PACKAGE, repo, ignore=shutil.ignore_patterns("__pycache__"))
    db = tmp_path / "code-index.db"
    conn = open_index(db)
    stats = add_repo(conn, repo, "repo")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    assert stats.bytes_read > 500_000
    assert db.stat().st_size <= 1.5 * stats.bytes_read


def test_hashes_stored_more_than_the_cap_are_listed_as_common(tmp_path: Path) -> None:
    """The boilerplate table counts every stored posting, as the per-row format's GROUP BY did."""
    repo = tmp_path / "repo"
    repo.mkdir()
    text = own_source("policy.py").read_text()
    for i in range(MAX_POSTINGS_PER_HASH + 6):  # one module copied into 70 files
        (repo / f"copy_{i}.py").write_text(text)
    (repo / "own.py").write_text(own_source("pipeline.py").read_text())
    conn = open_index(tmp_path / "i.db")
    add_repo(conn, repo, "repo")
    refresh_common(conn)
    per_hash = Counter(h for h, _, _, _ in every_posting(conn))
    expected = {h for h, n in per_hash.items() if n > MAX_POSTINGS_PER_HASH}
    assert len(expected) > 100
    assert {h for (h,) in conn.execute("SELECT hash FROM common")} == expected
    conn.close()

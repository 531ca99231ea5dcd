"""The add path's background: a sorted int32 array read straight from the machine-wide file
(or from the index when that file could not be written), equal to the set it replaces; a
damaged file counts as missing, and the add still works."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from egress_watch.classify.proprietary.background import (
    build_background,
    public_array,
    public_hashes,
)
from egress_watch.classify.proprietary.index import open_index
from egress_watch.classify.proprietary.postings import count
from egress_watch.classify.proprietary.repos import add_repo
from egress_watch.classify.proprietary.shared import CACHE_ENV
from tests.support.own_code import own_source

PUBLIC = ("policy.py", "pipeline.py", "settings.py")


def _public(tmp_path: Path) -> Path:
    public = tmp_path / "public"
    public.mkdir()
    for name in PUBLIC:
        shutil.copy(own_source(name), public / name)
    return public


def _shared_file(conn: sqlite3.Connection) -> Path:
    [(shared,)] = conn.execute("SELECT value FROM meta WHERE key = 'background_file'")
    return Path(shared)


def test_the_array_holds_the_sets_hashes_sorted(tmp_path: Path) -> None:
    conn = open_index(tmp_path / "code-index.db")
    build_background(conn, [_public(tmp_path)])
    hashes = public_array(conn)
    assert hashes.dtype.name == "int32"
    assert hashes.tolist() == sorted(public_hashes(conn))
    assert len(hashes) > 50
    assert public_array(conn) is hashes  # read once per process


def test_without_a_machine_wide_file_the_array_comes_from_the_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "not-a-folder").write_text("")
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "not-a-folder" / "cache"))  # unwritable
    conn = open_index(tmp_path / "code-index.db")
    build_background(conn, [_public(tmp_path)])
    assert _shared_file(conn) == Path()  # no file: the index holds the background
    assert public_array(conn).tolist() == sorted(public_hashes(conn))
    assert len(public_array(conn)) > 50


@pytest.mark.parametrize("damage", ["cut", "header"])
def test_a_damaged_machine_wide_file_is_missing_and_the_add_still_works(
    tmp_path: Path, damage: str
) -> None:
    public = _public(tmp_path)
    repo = tmp_path / "repo"
    repo.mkdir()
    for name in PUBLIC:  # the user's code is the public code: all of it public
        shutil.copy(own_source(name), repo / name)
    conn = open_index(tmp_path / "code-index.db")
    build_background(conn, [public])
    add_repo(conn, repo, "with")
    with_background = count(conn)
    shared = _shared_file(conn)
    data = shared.read_bytes()
    body = data.partition(b"\n")[2]
    shared.write_bytes(data[:-2] if damage == "cut" else b"not a header\n" + body)
    assert len(public_array(conn)) == 0
    assert public_hashes(conn) == frozenset()
    (repo / "policy.py").write_text(own_source("policy.py").read_text() + "\n# changed\n")
    add_repo(conn, repo, "with")  # re-reads the changed file, against no background
    conn.close()
    fresh = open_index(tmp_path / "fresh.db")
    fresh.execute(  # the same damaged background file, named by a new index
        "INSERT OR REPLACE INTO meta VALUES ('background_file', ?)", (str(shared),)
    )
    add_repo(fresh, repo, "without")
    assert count(fresh) > with_background  # nothing filtered: more postings than with it

"""A code index of a few files written for a test: the tests of proprietary-code matching build
one the way `egress-watch index add` does."""

from __future__ import annotations

from pathlib import Path

from egress_watch.classify.proprietary.background import build_background
from egress_watch.classify.proprietary.index import open_index
from egress_watch.classify.proprietary.repos import add_repo


def index_files(tmp_path: Path, files: dict[str, str], public: Path | None = None) -> Path:
    """Index ``files`` (name -> text) as one repository under ``tmp_path``; ``public`` is
    public code to build the background from first. Returns the index's path."""
    repo = tmp_path / "repo"
    repo.mkdir()
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    db = tmp_path / "code-index.db"
    conn = open_index(db)
    if public is not None:
        build_background(conn, [public])
    add_repo(conn, repo, "repo")
    conn.close()
    return db

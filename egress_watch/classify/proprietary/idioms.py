"""A repository's own idioms: k-grams found in many of its files, counted over every k-gram.

Winnowing keeps about a third of a file's k-grams, and which ones depends on their neighbours:
a short idiom (``if err != nil { return nil, err }``) is kept in some files and not in others.
Counting files among the stored postings alone (what the matcher does across the whole index)
so undercounts it, and an idiom of the codebase could make a match. So every add also counts,
over all k-grams of the files it reads, how many files hold each one; those held by more than
``FLOOR`` files are kept per repository with their count, and the matcher treats a k-gram held
by more than its file-frequency cap as common.

Counts are exact when an add reads every file of the repository (the first add, or after a
format reset); an incremental add reads only changed files, so their counts can only raise a
kept count (an idiom that changed files dropped stays common until the repository is read in
full again). Removing a repository removes its counts.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Protocol

from egress_watch.classify.proprietary.thresholds import Thresholds

if TYPE_CHECKING:
    from egress_watch.classify.proprietary.winnow_np import I32

SCHEMA = """
CREATE TABLE IF NOT EXISTS idioms (
    repo_id INTEGER NOT NULL, hash INTEGER NOT NULL, files INTEGER NOT NULL,
    PRIMARY KEY (repo_id, hash)) WITHOUT ROWID;
"""
FLOOR = Thresholds().df_min
"""A k-gram in this many files or fewer is never common (the matcher's cap is at least this)."""
COUNT_LIMIT = 2_000_000
"""Distinct k-grams counted (``file_counts.py``) before those seen in one file so far are
dropped (bounds memory however large the repository; each drop may undercount a k-gram by one)."""


class FileCounts(Protocol):
    """How many files of one add hold each k-gram (``file_counts.py``: it uses numpy, which
    queries never load, so this module does not import it)."""

    def frequent(self, more_than: int = ...) -> list[tuple[int, int]]:
        """(k-gram, files) of the k-grams held by more than ``more_than`` files."""
        ...


def store(
    conn: sqlite3.Connection,
    repo_id: int,
    counts: FileCounts,
    whole: bool,
    exclude: I32 | None = None,
) -> None:
    """Keep the repository's idioms: replace them after reading ``whole`` the repository,
    else raise them with what the changed files hold. K-grams in ``exclude`` (the public
    background as a sorted array: never indexed, so never a match) are not kept; leaving
    them out here, once, is cheaper than out of every file's k-grams."""
    if whole:
        conn.execute("DELETE FROM idioms WHERE repo_id = ?", (repo_id,))
    conn.executemany(
        "INSERT INTO idioms VALUES (?, ?, ?) ON CONFLICT (repo_id, hash) "
        "DO UPDATE SET files = max(files, excluded.files)",
        ((repo_id, h, n) for h, n in _private(counts.frequent(), exclude)),
    )


def _private(frequent: list[tuple[int, int]], public: I32 | None) -> list[tuple[int, int]]:
    """The (k-gram, files) of ``frequent`` whose k-gram ``public`` does not hold (numpy is
    imported here: the add path has it loaded already, queries never come here)."""
    if public is None or not len(public) or not frequent:
        return frequent
    import numpy as np

    from egress_watch.classify.proprietary.winnow_np import is_public

    hashes = np.fromiter((h for h, _ in frequent), np.int32, len(frequent))
    found = is_public(hashes, public).tolist()
    return [kept for kept, known in zip(frequent, found, strict=True) if not known]


def forget(conn: sqlite3.Connection, repo_id: int | None = None) -> None:
    """Drop the idioms of one repository (or of all)."""
    if repo_id is None:
        conn.execute("DELETE FROM idioms")
    else:
        conn.execute("DELETE FROM idioms WHERE repo_id = ?", (repo_id,))


def common(conn: sqlite3.Connection, cap: int) -> set[int]:
    """The k-grams held by more than ``cap`` files of the index's repositories."""
    rows = conn.execute("SELECT hash FROM idioms GROUP BY hash HAVING SUM(files) > ?", (cap,))
    return {h for (h,) in rows}

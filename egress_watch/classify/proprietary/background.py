"""The background: public code whose common k-grams are never indexed and never alert.

The Python standard library by default, plus any folders the user adds (e.g. ``node_modules``,
an installed Go distribution): the k-grams found in at least two of its files are idioms, not
the user's own. It is computed once per machine (``shared.py``) and reused by every index;
building a new one drops the postings of idioms that became public.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import sysconfig
from collections.abc import Iterable
from pathlib import Path

from egress_watch.classify.proprietary.files import candidates
from egress_watch.classify.proprietary.index import (
    FORMAT,
    Progress,
    bump_generation,
    forget_files,
)
from egress_watch.classify.proprietary.postings import drop_hashes, rewrite
from egress_watch.classify.proprietary.shared import (
    common_hashes,
    loaded_background,
    read_shared,
    shared_file,
    write_shared,
)

STDLIB_SKIP = frozenset({"site-packages", "dist-packages", "test", "tests", "idlelib", "lib2to3"})


@dataclasses.dataclass(frozen=True, slots=True)
class Background:
    """The public code whose common k-grams are never indexed."""

    sources: list[str]
    files: int
    bytes: int
    hashes: int


def background_to_build(conn: sqlite3.Connection) -> list[Path] | None:
    """What to build the background from before indexing: the default when it was never
    built, its recorded sources when a format reset emptied it (a vanished stdlib replaced
    by this Python's); None when it is in place."""
    info = background_info(conn)
    if info is None:
        return default_background()
    if public_hashes(conn):
        return None
    roots = [Path(source) for source in info.sources]
    stdlib = default_background()
    kept = [root for root in roots if root.is_dir()]
    if len(kept) < len(roots):
        kept = [*stdlib, *[root for root in kept if root not in stdlib]]
    return kept


def default_background() -> list[Path]:
    """Public code present wherever egress-watch runs: the Python standard library."""
    return [Path(sysconfig.get_paths()["stdlib"])]


GO_SOURCES = ("/usr/share/go-*/src", "/usr/lib/go-*/src", "/usr/local/go/src")
NODE_PACKAGES = ("/usr/lib/node_modules", "/usr/local/lib/node_modules")


def installed_public_code() -> list[Path]:
    """Published code installed on this machine besides the Python stdlib: the newest Go
    distribution's standard library (less its compiler, ``cmd``) and the global Node
    packages. What ``index background --installed`` adds."""
    found: list[Path] = []
    go = sorted(p for pattern in GO_SOURCES for p in Path("/").glob(pattern.lstrip("/")))
    if go:
        found += sorted(p for p in go[-1].iterdir() if p.is_dir() and p.name != "cmd")
    found += [p for p in map(Path, NODE_PACKAGES) if p.is_dir()]
    return found


def environment_packages() -> Path:
    """The site-packages of egress-watch's own environment: published packages only."""
    return Path(sysconfig.get_paths()["purelib"])


def background_info(conn: sqlite3.Connection) -> Background | None:
    """What the background was built from, or None when it has not been built."""
    row = conn.execute("SELECT value FROM meta WHERE key='background'").fetchone()
    return Background(**json.loads(row[0])) if row else None


def build_background(
    conn: sqlite3.Connection, roots: Iterable[Path], progress: Progress | None = None
) -> Background:
    """Replace the background with the k-grams found in two or more files under ``roots``:
    idioms of public code, not anyone's own.

    Every k-gram of every channel counts (not only the winnowed ones), so that a query's
    k-grams are looked up against all of them; postings already indexed with such a
    k-gram are deleted.
    """
    stdlib = {root.resolve() for root in default_background()}
    resolved = [Path(root).resolve() for root in roots]
    files = [
        root / c.path
        for root in resolved
        for c in candidates(root, published=True)
        if root not in stdlib or not STDLIB_SKIP.intersection(c.path.split("/")[:-1])
    ]
    shared = shared_file(files, FORMAT)
    cached = read_shared(shared)
    if cached is None:
        common, total = common_hashes(files, progress)
        saved = write_shared(shared, common, total)
    else:
        (common, total), saved = cached, True
        if progress is not None:
            progress(len(files), len(files), total)
    info = Background([str(root) for root in resolved], len(files), total, len(common))
    previous = public_hashes(conn)
    if not previous <= common:  # idioms no longer public: their postings were never stored
        forget_files(conn)
    conn.execute("DELETE FROM background")
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS fresh (hash INTEGER PRIMARY KEY)")
    conn.execute("DELETE FROM fresh")
    conn.executemany("INSERT INTO fresh VALUES (?)", ((h,) for h in sorted(common)))
    if previous != common:  # postings of the new public idioms (and of forgotten files) go
        live = {i for (i,) in conn.execute("SELECT id FROM files")}
        public = drop_hashes(common)
        rewrite(
            conn,
            keep=lambda hashes, files: [
                keep and f in live for keep, f in zip(public(hashes, files), files, strict=True)
            ],
        )
    conn.execute("DELETE FROM lines WHERE hash IN (SELECT hash FROM fresh)")
    if not saved:  # no machine-wide file (an unwritable cache folder): kept in the index
        conn.execute("INSERT INTO background SELECT hash FROM fresh")
    conn.execute("DROP TABLE fresh")
    for key, value in (
        ("background", json.dumps(dataclasses.asdict(info))),
        ("background_file", str(shared) if saved else ""),
    ):
        conn.execute(
            "INSERT INTO meta VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value=?",
            (key, value, value),
        )
    bump_generation(conn)
    conn.commit()
    return info


def public_hashes(conn: sqlite3.Connection) -> frozenset[int]:
    """The background's hashes: from its machine-wide file, or from the index itself when
    that file could not be written; empty when there is none (or its file is gone)."""
    row = conn.execute("SELECT value FROM meta WHERE key='background_file'").fetchone()
    if row and row[0]:
        return loaded_background(Path(row[0]))
    return frozenset(h for (h,) in conn.execute("SELECT hash FROM background"))

"""Which files ``index add`` lists, and with which change keys: the one-git-call listing and
the ``os.scandir`` walk give exactly what the two git calls and the ``pathlib`` walk gave.

The old listing is kept below as the reference (it is what incremental adds were keyed on:
a different key would make every file look changed)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from egress_watch.classify.proprietary.files import (
    PUBLIC_SKIP_DIRS,
    SKIP_DIRS,
    Candidate,
    candidates,
    in_git_work_tree,
    skipped_path,
)

CLICK = Path(__import__("click").__file__).parent


def _old_candidates(root: Path, published: bool = False) -> list[Candidate]:
    """The listing before this change: ``git ls-files -s`` then ``-m``, or an ``os.walk``."""
    if published:
        return list(_old_walk(root, PUBLIC_SKIP_DIRS))
    tracked = _old_git_files(root)
    if not tracked:
        return list(_old_walk(root))
    return [Candidate(path, key) for path, key in tracked if not skipped_path(path)]


def _old_git_files(root: Path) -> list[tuple[str, str]] | None:
    try:
        listed = subprocess.run(
            ["git", "-C", str(root), "ls-files", "-s", "-z"], capture_output=True, check=True
        ).stdout
        modified = subprocess.run(
            ["git", "-C", str(root), "ls-files", "-m", "-z"], capture_output=True, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    changed = set(modified.decode("utf-8", "surrogateescape").split("\0"))
    out = []
    for entry in listed.decode("utf-8", "surrogateescape").split("\0"):
        if not entry:
            continue
        meta, path = entry.split("\t", 1)
        blob = meta.split()[1]
        out.append((path, _old_stat_key(root / path) if path in changed else "blob:" + blob))
    return out


def _old_walk(root: Path, skip_dirs: frozenset[str] = SKIP_DIRS) -> Iterator[Candidate]:
    for directory, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in skip_dirs and not d.startswith("."))
        for name in sorted(files):
            full = Path(directory, name)
            relative = full.relative_to(root).as_posix()
            if not skipped_path(relative, skip_dirs):
                yield Candidate(relative, _old_stat_key(full))


def _old_stat_key(path: Path) -> str:
    try:
        info = path.stat()
    except OSError:
        return "missing"
    return f"stat:{info.st_size}:{info.st_mtime_ns}"


def _git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(root), "-c", "user.email=t@example.invalid", "-c", "user.name=t",
         *args],
        check=True, capture_output=True,
    )  # fmt: skip


def _tree(root: Path) -> None:
    """Source, skipped and awkward files: nested folders, hidden and vendored folders, lock
    and non-source files, links to a file, to a folder and to nothing."""
    files = {
        "app.py": "def main():\n    return 1\n",
        "b/z.go": "package b\n",
        "b/a.js": "export const a = 1;\n",
        "b/c/deep.ts": "let x: number = 1;\n",
        "README.md": "# not source\n",
        "yarn.lock": "lock\n",
        "node_modules/dep/index.js": "module.exports = 1;\n",
        ".hidden/secret.py": "x = 1\n",
        "dist/out.js": "var x;\n",
        "x.min.js": "var y;\n",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    (root / "link.py").symlink_to(root / "app.py")
    (root / "gone.py").symlink_to(root / "nowhere.py")
    (root / "linked").symlink_to(root / "b", target_is_directory=True)


def _same(root: Path, published: bool = False) -> list[Candidate]:
    """The new listing, checked against the old one (paths, keys and order) and its sizes
    against the files'."""
    new = list(candidates(root, published))
    assert new == _old_candidates(root, published)
    assert [c.key for c in new] == [c.key for c in _old_candidates(root, published)]
    for candidate in new:
        if candidate.size >= 0:
            assert candidate.size == (root / candidate.path).stat().st_size
    return new


def test_plain_folder_lists_as_before_with_sizes_and_no_git(tmp_path: Path) -> None:
    root = tmp_path / "plain"
    root.mkdir()
    _tree(root)
    assert not in_git_work_tree(root)
    listed = _same(root)
    assert [c.path for c in listed] == ["app.py", "gone.py", "link.py", "b/a.js", "b/z.go",
                                        "b/c/deep.ts"]  # fmt: skip
    assert {c.path: c.key for c in listed}["gone.py"] == "missing"
    assert all(c.size > 0 for c in listed if c.path != "gone.py")
    published = _same(root, published=True)
    assert "node_modules/dep/index.js" in [c.path for c in published]


def test_git_repo_with_modified_untracked_and_deleted_files_lists_as_before(
    tmp_path: Path,
) -> None:
    root = tmp_path / "outer" / "repo"  # a repository inside a folder that is not one
    root.mkdir(parents=True)
    _tree(root)
    (root / "ignored").mkdir()
    (root / "ignored" / "skip.py").write_text("x = 2\n")
    (root / ".gitignore").write_text("ignored/\n")
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "first")
    (root / "app.py").write_text("def main():\n    return 2\n")  # modified
    (root / "b" / "z.go").unlink()  # deleted, still tracked
    (root / "new.py").write_text("y = 3\n")  # untracked: not listed
    assert in_git_work_tree(root)
    assert not in_git_work_tree(tmp_path / "outer")
    listed = {c.path: c for c in _same(root)}
    assert listed["app.py"].key.startswith("stat:")
    assert listed["app.py"].size > 0
    assert listed["b/z.go"].key == "missing"
    assert listed["b/a.js"].key.startswith("blob:")
    assert listed["b/a.js"].size == -1
    assert "new.py" not in listed
    assert "node_modules/dep/index.js" not in listed
    sub = {c.path: c.key for c in _same(root / "b")}  # a folder of the repository
    assert sub["a.js"] == listed["b/a.js"].key
    link = tmp_path / "elsewhere" / "b-link"  # a link from outside to a repository's folder
    link.parent.mkdir()
    link.symlink_to(root / "b", target_is_directory=True)
    assert in_git_work_tree(link)
    assert {c.path: c.key for c in _same(link)} == sub
    ignored = _same(root / "ignored")  # nothing tracked under it: walked
    assert [c.path for c in ignored] == ["skip.py"]


def test_git_error_falls_back_to_the_walk(tmp_path: Path) -> None:
    root = tmp_path / "broken"
    root.mkdir()
    (root / "a.py").write_text("a = 1\n")
    (root / ".git").write_text("gitdir: /nonexistent/anywhere\n")  # git refuses this
    assert in_git_work_tree(root)
    assert [c.path for c in _same(root)] == ["a.py"]


@pytest.mark.skipif(not CLICK.is_dir(), reason="click's sources are not installed as files")
def test_installed_package_lists_as_before() -> None:
    assert _same(CLICK, published=True)
    assert _same(CLICK)

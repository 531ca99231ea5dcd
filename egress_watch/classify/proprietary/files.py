"""Which files of a repository are indexed: git-tracked source, minus vendored/generated/binary.

Published code read for the background may also sit in an archive (a JDK's ``src.zip``).
"""

from __future__ import annotations

import os
import subprocess
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from egress_watch.classify.proprietary.tokenize import language_of

MAX_FILE_BYTES = 1_000_000
SKIP_DIRS = frozenset(
    {
        "node_modules", "vendor", "third_party", "third-party", "dist", "build", "target",
        ".git", "__pycache__", ".venv", "venv", ".tox", "site-packages", "bower_components",
        ".mypy_cache", ".pytest_cache", "out", "Pods",
    }
)  # fmt: skip
SKIP_SUFFIXES = (".min.js", ".min.css", ".pb.go", "_pb2.py", "_pb2_grpc.py", ".d.ts.map")
SKIP_NAMES = frozenset(
    {"package-lock.json", "yarn.lock", "pnpm-lock.yaml", "Cargo.lock", "go.sum", "poetry.lock"}
)
GENERATED_MARKERS = (b"Code generated", b"DO NOT EDIT", b"@generated", b"auto-generated")


@dataclass(frozen=True, slots=True)
class Candidate:
    """A file that may be indexed: its path relative to the repo and a change key."""

    path: str
    key: str
    """The git blob id when the working tree matches it, else size and mtime."""
    size: int = field(default=-1, compare=False)
    """Bytes on disk when the listing learnt it for free (a stat it made), else -1."""


PUBLIC_SKIP_DIRS = frozenset({"testdata", ".git", "__pycache__", "dist", "build"})
"""What published code (a background) leaves out: its dependencies are published code too."""


def skipped_path(path: str, skip_dirs: frozenset[str] = SKIP_DIRS) -> bool:
    """True for vendored, build-output, lock and generated-by-name files, and non-source."""
    parts = path.split("/")
    if any(part in skip_dirs for part in parts[:-1]):
        return True
    return skipped_name(parts[-1])


def skipped_name(name: str) -> bool:
    """True for a file name that is never indexed: lock files, generated-by-name, non-source."""
    if name in SKIP_NAMES or name.endswith(SKIP_SUFFIXES):
        return True
    return language_of(name) is None


def skipped_content(data: bytes) -> str | None:
    """Why a file's content is not indexed (binary, generated, minified, too big), or None."""
    if len(data) > MAX_FILE_BYTES:
        return "too large"
    head = data[:4096]
    if b"\0" in head:
        return "binary"
    if any(marker in head[:2048] for marker in GENERATED_MARKERS):
        return "generated"
    lines = data.count(b"\n") + 1
    if len(data) > 2000 and len(data) / lines > 300:
        return "minified"
    return None


def candidates(root: Path, published: bool = False) -> Iterator[Candidate]:
    """Source files under ``root``: tracked files when it is a git work tree, else a walk.

    ``published`` code (a background) keeps its ``node_modules`` and ``vendor`` folders.
    """
    if published:
        yield from _walk(str(root), PUBLIC_SKIP_DIRS)
        return
    tracked = _git_files(root) if in_git_work_tree(root) else None
    if not tracked:  # not a work tree, or nothing tracked under root (an ignored directory)
        yield from _walk(str(root))
        return
    for candidate in tracked:
        if not skipped_path(candidate.path):
            yield candidate


def in_git_work_tree(root: Path) -> bool:
    """Whether git could see ``root`` as part of a work tree: a ``.git`` in it or a parent
    (or ``$GIT_DIR`` set). Checked here because a git process that finds none costs more
    than listing a small folder."""
    if "GIT_DIR" in os.environ:
        return True
    folder = os.path.realpath(root)  # git looks from the physical folder, links resolved
    while True:
        if os.path.lexists(os.path.join(folder, ".git")):
            return True
        parent = os.path.dirname(folder)
        if parent == folder:
            return False
        folder = parent


def _git_files(root: Path) -> list[Candidate] | None:
    """Tracked files with their blob (or stat key when changed in the work tree), from one
    git call; None when ``root`` is not a git work tree.

    ``ls-files -s -m -t`` lists every index entry (tag ``H``) and, right after it, the same
    entry again tagged ``C`` when the work tree differs (modified or deleted)."""
    try:
        listed = subprocess.run(  # noqa: S603 - fixed argv, no shell
            ["git", "-C", str(root), "ls-files", "-s", "-m", "-t", "-z"],  # noqa: S607 - git from PATH
            capture_output=True,
            check=True,
            timeout=120,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    entries = []
    changed = set()
    for entry in listed.decode("utf-8", "surrogateescape").split("\0"):
        if not entry:
            continue
        meta, path = entry.split("\t", 1)
        tag, _mode, blob = meta.split(" ", 3)[:3]
        if tag == "C":
            changed.add(path)
        else:
            entries.append((path, blob))
    prefix = os.path.join(root, "")
    out = []
    for path, blob in entries:
        if path in changed:
            key, size = _stat_key(prefix + path)
            out.append(Candidate(path, key, size))
        else:
            out.append(Candidate(path, "blob:" + blob))
    return out


def _walk(root: str, skip_dirs: frozenset[str] = SKIP_DIRS) -> Iterator[Candidate]:
    """Every source file under a plain directory, skipping hidden and vendored directories
    (in ``os.walk`` order, names sorted; symbolic links to folders are not followed)."""
    yield from _walk_folder(os.path.join(root, ""), "", skip_dirs)


def _walk_folder(folder: str, relative: str, skip_dirs: frozenset[str]) -> Iterator[Candidate]:
    """The files of ``folder`` (``relative`` to the root, with a trailing slash), then those
    of its sub-folders."""
    try:
        with os.scandir(folder) as scanned:
            entries = list(scanned)
    except OSError:
        return
    files, folders = [], []
    for entry in entries:
        try:
            is_dir = entry.is_dir()
        except OSError:
            is_dir = False
        if not is_dir:
            files.append(entry)
        elif entry.name not in skip_dirs and not entry.name.startswith("."):
            folders.append(entry)
    for entry in sorted(files, key=_name):
        if not skipped_name(entry.name):
            key, size = _stat_key(entry)
            yield Candidate(relative + entry.name, key, size)
    for entry in sorted(folders, key=_name):
        if not entry.is_symlink():
            yield from _walk_folder(entry.path + "/", relative + entry.name + "/", skip_dirs)


def _name(entry: os.DirEntry[str]) -> str:
    """What folder entries are sorted by."""
    return entry.name


def _stat_key(path: str | os.DirEntry[str]) -> tuple[str, int]:
    """A change key from size and modification time (for untracked or modified files), and
    the size (-1 when the file is missing)."""
    try:
        info = path.stat() if isinstance(path, os.DirEntry) else os.stat(path)
    except OSError:
        return "missing", -1
    return f"stat:{info.st_size}:{info.st_mtime_ns}", info.st_size


ARCHIVE_MODULES = ("java.",)
"""The JDK modules read from its ``src.zip``: the public API everyone's Java calls (the
``jdk.*`` modules are the tools and locale data)."""


@dataclass(frozen=True, slots=True)
class PublicFile:
    """A file of published code: in a folder, or a ``member`` of an archive at ``path``."""

    path: Path
    member: str | None
    size: int
    key: str
    """Changes whenever the file does (size and mtime, or the member's CRC)."""

    @property
    def name(self) -> str:
        """The file's name, for its language."""
        return (self.member or self.path.name).rsplit("/", 1)[-1]

    def read(self) -> bytes:
        """The file's bytes (OSError when it cannot be read)."""
        if self.member is None:
            return self.path.read_bytes()
        try:
            return _archive(self.path).read(self.member)
        except (zipfile.BadZipFile, KeyError, ValueError) as error:
            raise OSError(f"{self.path}: {error}") from None


def archive_candidates(archive: Path) -> Iterator[PublicFile]:
    """The Java sources of a JDK's ``src.zip`` (its ``java.*`` modules), with the skip rules
    of published code; nothing when it is not a readable zip."""
    try:
        infos = _archive(archive).infolist()
    except (OSError, zipfile.BadZipFile):
        return
    for info in sorted(infos, key=lambda i: i.filename):
        name = info.filename
        if info.is_dir() or not name.startswith(ARCHIVE_MODULES) or not name.endswith(".java"):
            continue
        if skipped_path(name, PUBLIC_SKIP_DIRS) or info.file_size > MAX_FILE_BYTES:
            continue
        key = f"{archive}!{name}\0{info.file_size}\0{info.CRC}"
        yield PublicFile(archive, name, info.file_size, key)


_ARCHIVES: dict[tuple[int, Path], zipfile.ZipFile] = {}
"""Archives opened by this process (a forked worker opens its own: a shared file offset would
mix their reads)."""


def _archive(path: Path) -> zipfile.ZipFile:
    """``path`` opened as a zip once per process."""
    key = (os.getpid(), path)
    if key not in _ARCHIVES:
        _ARCHIVES.clear()
        _ARCHIVES[key] = zipfile.ZipFile(path)
    return _ARCHIVES[key]

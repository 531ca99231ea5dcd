"""Which files of a repository are indexed: git-tracked source, minus vendored/generated/binary.

Published code read for the background may also sit in an archive (a JDK's ``src.zip``).
"""

from __future__ import annotations

import os
import subprocess
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
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


PUBLIC_SKIP_DIRS = frozenset({"testdata", ".git", "__pycache__", "dist", "build"})
"""What published code (a background) leaves out: its dependencies are published code too."""


def skipped_path(path: str, skip_dirs: frozenset[str] = SKIP_DIRS) -> bool:
    """True for vendored, build-output, lock and generated-by-name files, and non-source."""
    parts = path.split("/")
    if any(part in skip_dirs for part in parts[:-1]):
        return True
    name = parts[-1]
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
        yield from _walk(root, PUBLIC_SKIP_DIRS)
        return
    tracked = _git_files(root)
    if not tracked:  # not a work tree, or nothing tracked under root (an ignored directory)
        yield from _walk(root)
        return
    for path, blob in tracked:
        if not skipped_path(path):
            yield Candidate(path, blob)


def _git_files(root: Path) -> list[tuple[str, str]] | None:
    """(path, blob or stat key) of tracked files, or None when ``root`` is not a git work tree."""
    try:
        listed = subprocess.run(  # noqa: S603 - fixed argv, no shell
            ["git", "-C", str(root), "ls-files", "-s", "-z"],  # noqa: S607 - git from PATH
            capture_output=True,
            check=True,
            timeout=120,
        ).stdout
        modified = subprocess.run(  # noqa: S603 - fixed argv, no shell
            ["git", "-C", str(root), "ls-files", "-m", "-z"],  # noqa: S607
            capture_output=True,
            check=True,
            timeout=120,
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
        out.append((path, _stat_key(root / path) if path in changed else "blob:" + blob))
    return out


def _walk(root: Path, skip_dirs: frozenset[str] = SKIP_DIRS) -> Iterator[Candidate]:
    """Every source file under a plain directory, skipping hidden and vendored directories."""
    for directory, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in skip_dirs and not d.startswith("."))
        for name in sorted(files):
            full = Path(directory, name)
            relative = full.relative_to(root).as_posix()
            if not skipped_path(relative, skip_dirs):
                yield Candidate(relative, _stat_key(full))


def _stat_key(path: Path) -> str:
    """A change key from size and modification time (for untracked or modified files)."""
    try:
        info = path.stat()
    except OSError:
        return "missing"
    return f"stat:{info.st_size}:{info.st_mtime_ns}"


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

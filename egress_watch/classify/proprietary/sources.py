"""Where published code is installed on this machine, and which of its files a background reads.

The default background is every installed public source of a supported language: the Python
standard library, the newest Go distribution's standard library (less its compiler, ``cmd``),
Debian's Go module sources, global npm packages and the newest JDK's ``src.zip``. Each source
is read up to ``SOURCE_CAP_BYTES``, sampled evenly across its files, so that a large one (the
JDK holds 200 MB of Java) neither takes minutes nor crowds out the others: an idiom is common
precisely because it recurs, so an even sample still finds it.
"""

from __future__ import annotations

import dataclasses
import os
import re
import sysconfig
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from egress_watch.classify.proprietary.files import PublicFile, archive_candidates, candidates

BACKGROUND_ENV = "EGRESS_WATCH_BACKGROUND"
"""Folders (or a ``src.zip``), separated by ``os.pathsep``, that replace the default sources of
the background built on first use; empty for none."""
SOURCE_CAP_BYTES = 24_000_000
"""Most bytes of one source a background reads (an even sample of its files beyond that)."""

STDLIB_SKIP = frozenset({"site-packages", "dist-packages", "idlelib", "lib2to3"})
"""What the stdlib source leaves out: installed packages, IDLE, 2to3. Its tests stay: they
teach unittest idioms (setUp, assertRaises) as common."""
GO_SOURCES = ("/usr/share/go-*/src", "/usr/lib/go-*/src", "/usr/local/go/src")
GO_MODULES = ("/usr/share/gocode/src",)
NODE_PACKAGES = ("/usr/lib/node_modules", "/usr/local/lib/node_modules")
JDK_SOURCES = ("/usr/lib/jvm/*/lib/src.zip", "/usr/local/lib/jvm/*/lib/src.zip")


@dataclasses.dataclass(frozen=True, slots=True)
class SourceFiles:
    """What a background reads from one source."""

    source: str
    files: int
    bytes: int
    """Bytes of the files read (as listed; skipped content still counts here)."""
    installed: int
    """Bytes of all its files, before the cap."""


def python_stdlib() -> Path:
    """This Python's standard library (IDLE and site-packages are left out)."""
    return Path(sysconfig.get_paths()["stdlib"])


def default_background() -> list[Path]:
    """The sources of the background built on first use: ``$EGRESS_WATCH_BACKGROUND`` when
    set, else the Python standard library and every public code installed here."""
    chosen = os.environ.get(BACKGROUND_ENV)
    if chosen is not None:
        return [Path(part).expanduser() for part in chosen.split(os.pathsep) if part]
    return [python_stdlib(), *installed_public_code()]


def installed_public_code() -> list[Path]:
    """Published code installed on this machine besides the Python stdlib: the newest Go
    distribution's sources, Debian's Go module sources, global Node packages and the newest
    JDK's sources (only those that exist)."""
    go = _newest(_globbed(GO_SOURCES), version_in_path)
    jdk = _newest((p for p in _globbed(JDK_SOURCES) if p.is_file()), jdk_version)
    folders = [p for p in _globbed((*GO_MODULES, *NODE_PACKAGES)) if p.is_dir()]
    return [*go, *folders, *jdk]


def environment_packages() -> Path:
    """The site-packages of egress-watch's own environment: published packages only."""
    return Path(sysconfig.get_paths()["purelib"])


def public_files(
    root: Path, cap: int = SOURCE_CAP_BYTES, exclude: Iterable[Path] = ()
) -> tuple[list[PublicFile], SourceFiles]:
    """The files of one source a background reads (an even sample up to ``cap`` bytes),
    leaving out those under ``exclude``, and a summary of them."""
    left_out = [str(path.resolve()) + os.sep for path in exclude]
    listed = [f for f in _listed(root.resolve()) if not str(f.path).startswith(tuple(left_out))]
    installed = sum(f.size for f in listed)
    chosen = _even_sample(listed, cap)
    return chosen, SourceFiles(str(root), len(chosen), sum(f.size for f in chosen), installed)


def _listed(root: Path) -> Iterator[PublicFile]:
    """Every source file of ``root``: a ``src.zip``'s Java members, or a folder's files (the
    stdlib without its tests, a Go distribution without its compiler)."""
    if root.is_file():
        yield from archive_candidates(root)
        return
    stdlib = root == python_stdlib().resolve()
    go_distribution = _is_go_distribution(root)
    for candidate in candidates(root, published=True):
        folders = candidate.path.split("/")[:-1]
        if stdlib and STDLIB_SKIP.intersection(folders):
            continue
        if go_distribution and folders[:1] == ["cmd"]:
            continue
        path = root / candidate.path
        yield PublicFile(path, None, max(candidate.size, 0), f"{path}\0{candidate.key}")


def _even_sample(files: list[PublicFile], cap: int) -> list[PublicFile]:
    """Files spread evenly over the list (in path order) adding up to about ``cap`` bytes."""
    total = sum(f.size for f in files)
    if total <= cap:
        return files
    share, credit, chosen = cap / total, 0.0, []
    for public in files:
        credit += public.size * share
        if credit >= public.size:
            credit -= public.size
            chosen.append(public)
    return chosen


def _is_go_distribution(root: Path) -> bool:
    """A Go distribution's ``src`` folder (its ``go.mod`` declares ``module std``)."""
    try:
        with (root / "go.mod").open(encoding="utf-8") as handle:
            return handle.readline().strip() == "module std"
    except OSError:
        return False


def _globbed(patterns: Iterable[str]) -> list[Path]:
    """Existing paths matching absolute glob ``patterns``, each once (links resolved)."""
    found: dict[Path, None] = {}
    for pattern in patterns:
        for path in sorted(Path("/").glob(pattern.lstrip("/"))):
            if path.exists():
                found.setdefault(path.resolve(), None)
    return list(found)


def _newest(paths: Iterable[Path], version: Callable[[Path], tuple[int, ...]]) -> list[Path]:
    """The path with the highest version, alone (empty when there is none)."""
    return sorted(paths, key=version)[-1:]


def version_in_path(path: Path) -> tuple[int, ...]:
    """The numbers in a path (``go-1.19`` > ``go-1.9``), compared as numbers."""
    return tuple(int(n) for n in re.findall(r"\d+", str(path)))


def jdk_version(src_zip: Path) -> tuple[int, ...]:
    """A JDK's version from its ``release`` file, else from its folder's name."""
    release = src_zip.parent.parent / "release"
    try:
        text = release.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return version_in_path(src_zip.parent.parent)
    found = re.search(r'^JAVA_VERSION="([\d.]+)', text, re.MULTILINE)
    if found is None:
        return version_in_path(src_zip.parent.parent)
    return tuple(int(n) for n in found.group(1).split(".") if n)

"""Backgrounds of public code kept once per machine, shared by every index.

Computing a background (the k-grams found in two or more files of published code) reads
about 100 MB; its result depends only on those files, so it is kept in a file named after them
(paths, sizes, modification times) under the user cache folder and reused by every index. Its
header says how many bytes it was computed from, how long that took and when.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
from array import array
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs

from egress_watch.classify.proprietary.files import PublicFile, skipped_content
from egress_watch.classify.proprietary.jobs import can_fork
from egress_watch.classify.proprietary.lines import indexed_line_hashes
from egress_watch.classify.proprietary.tokenize import GENERIC, language_of, tokenize
from egress_watch.classify.proprietary.winnow import CHANNELS

if TYPE_CHECKING:
    from egress_watch.classify.proprietary.winnow_np import I32, TokenIds

CACHE_ENV = "EGRESS_WATCH_CACHE"


PARALLEL_FROM_FILES = 200
"""Below this many files, starting a process per core costs more than it saves."""

_cache: dict[str, int] = {}
"""Slot of each token this process has seen (``winnow_np.TokenIds``: token ids are
deterministic, any process gives the same ids)."""
_ids: TokenIds | None = None


def file_hashes(public: PublicFile) -> tuple[int, array[int]]:
    """The bytes read of one public file and its distinct k-gram (every channel) and line
    hashes; no bytes when it cannot be read or is not source (binary, generated, minified)."""
    try:
        data = public.read()
    except OSError:
        return 0, array("i")
    if skipped_content(data) is not None:
        return 0, array("i")
    text = data.decode("utf-8", "replace")
    tokens = tokenize(text, language_of(public.name) or GENERIC, False)
    # numpy is imported here, not with this module: the matcher imports this module, and
    # the proxy that runs it never needs numpy.
    import numpy as np

    from egress_watch.classify.proprietary import winnow_np

    hashes = [np.frombuffer(indexed_line_hashes(text), np.int32)]
    for channel, ids in zip(CHANNELS, _token_ids().of(tokens.values, CHANNELS), strict=True):
        hashes.append(winnow_np.kgram_hashes(ids, channel))
    return len(data), winnow_np.as_array(winnow_np.distinct(np.concatenate(hashes)), "i")


def _token_ids() -> TokenIds:
    """This process's token ids, kept from file to file (tokens repeat a lot)."""
    global _ids
    if _ids is None:
        from egress_watch.classify.proprietary.winnow_np import TokenIds

        _ids = TokenIds(_cache)
    return _ids


def common_hashes(
    files: list[PublicFile], progress: Callable[[int, int, int], None] | None
) -> tuple[set[int], int]:
    """The k-grams and line hashes found in two or more of ``files``, and the bytes read.

    Files are tokenized in a process per core (up to 8) when there are many; this process
    keeps the counts (in sorted arrays: numpy, imported here for the reason given in
    ``file_hashes``)."""
    import numpy as np

    from egress_watch.classify.proprietary.winnow_np import SeenTwice

    counted = SeenTwice()
    total = 0
    for done, (size, hashes) in enumerate(_hashed(files), 1):
        total += size
        counted.add(np.frombuffer(hashes, np.int32))
        if progress is not None:
            progress(done, len(files), total)
    return set(counted.common().tolist()), total


def _hashed(files: list[PublicFile]) -> Iterator[tuple[int, array[int]]]:
    """``file_hashes`` of every file, in order; in worker processes when it pays."""
    workers = min(os.cpu_count() or 1, 8)
    if workers < 2 or len(files) < PARALLEL_FROM_FILES or not can_fork():
        yield from map(file_hashes, files)
        return
    _token_ids()  # numpy, imported once here, is inherited by every forked worker
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        yield from pool.map(file_hashes, files, chunksize=16)


def shared_directory() -> Path:
    """Where backgrounds are kept once per machine (``$EGRESS_WATCH_CACHE`` overrides)."""
    from_env = os.environ.get(CACHE_ENV)
    if from_env:
        return Path(from_env).expanduser().absolute()
    return Path(platformdirs.user_cache_dir("egress-watch", appauthor=False))


def shared_file(files: list[PublicFile], fmt: str) -> Path:
    """The machine-wide file for a background of exactly these files as they are now: any
    file added, removed or changed names another file."""
    digest = hashlib.sha256(fmt.encode())
    for public in files:
        digest.update(public.key.encode("utf-8", "surrogateescape") + b"\n")
    return shared_directory() / f"background-{fmt}-{digest.hexdigest()[:24]}.bin"


@dataclass(frozen=True, slots=True)
class Built:
    """How a machine-wide background came about."""

    bytes: int
    """Bytes of public code read."""
    seconds: float
    """How long computing it took."""
    at: str
    """When it was computed (UTC, ISO 8601); empty for a file from an older version."""


def shared_array(path: Path) -> array[int] | None:
    """A machine-wide background's hashes as a sorted array (4 bytes a hash, for lookups by
    bisection in processes that only match), or None when it cannot be read."""
    read = _read(path)
    return None if read is None else read[0]


def _read(path: Path) -> tuple[array[int], Built] | None:
    """The file's hashes (sorted, as written) and how they were built; None when it is
    missing or damaged (it is then rebuilt)."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    header, _, body = data.partition(b"\n")
    built = _built(header)
    hashes = array("i")
    try:
        hashes.frombytes(body)
    except ValueError:
        return None
    return None if built is None else (hashes, built)


def shared_header(path: Path) -> Built | None:
    """How a machine-wide background was built, from its first line alone (cheap: its hashes
    are not read); None when it is missing or its header is damaged."""
    try:
        with path.open("rb") as file:
            built = _built(file.readline().rstrip(b"\n"))
            whole = (os.fstat(file.fileno()).st_size - file.tell()) % 4 == 0
    except OSError:
        return None
    return built if whole else None  # a cut body is damaged too (``_read`` refuses it)


def _built(header: bytes) -> Built | None:
    """The header line: bytes read, seconds taken, when (the last two absent in old files)."""
    fields = header.decode("ascii", "replace").split()
    try:
        return Built(int(fields[0]), float(fields[1]) if len(fields) > 1 else 0.0,
                     fields[2] if len(fields) > 2 else "")  # fmt: skip
    except (ValueError, IndexError):
        return None


def write_shared(path: Path, common: set[int], built: Built) -> bool:
    """Keep a background for every index of this machine (atomic); False when it cannot."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(f"{built.bytes} {built.seconds:.2f} {built.at}\n".encode())
            out.write(array("i", sorted(common)).tobytes())
        os.replace(temporary, path)
    except OSError:
        return False
    return True


_LOADED: dict[Path, frozenset[int]] = {}
"""Backgrounds already read by this process (a file's name changes with its content)."""
_LOADED_ARRAYS: dict[tuple[Path, int, int], I32] = {}
"""The same as sorted arrays (``loaded_array``), by path, size and modification time."""


def loaded_array(path: Path) -> I32 | None:
    """The hashes of a machine-wide background file as a sorted int32 array, read once per
    process straight from the file's body (as written: sorted, 4 bytes a hash; no Python int,
    set or sort: 1.2 M hashes in milliseconds); None when it is missing or damaged.

    numpy is imported here, not with this module: the matcher imports this module, and the
    proxy that runs it never needs numpy."""
    try:
        stat = path.stat()
    except OSError:
        return None
    key = (path, stat.st_size, stat.st_mtime_ns)
    if key in _LOADED_ARRAYS:
        return _LOADED_ARRAYS[key]
    read = _read(path)
    if read is None:
        return None
    import numpy as np

    hashes = np.frombuffer(read[0], np.int32)
    if len(hashes) > 1 and not (hashes[1:] > hashes[:-1]).all():  # not as written: still usable
        hashes = np.unique(hashes)
    hashes.flags.writeable = False  # shared by every add of this process and its workers
    _LOADED_ARRAYS.clear()  # one background at a time is what a process uses
    _LOADED_ARRAYS[key] = hashes
    return hashes


def loaded_background(path: Path) -> frozenset[int]:
    """The hashes of a machine-wide background file, read once per process."""
    if path in _LOADED and path.exists():
        return _LOADED[path]
    read = _read(path)
    hashes = frozenset(read[0]) if read else frozenset()  # one hash table, not a set first
    if hashes:
        _LOADED.clear()  # one background at a time is what a process uses
        _LOADED[path] = hashes
    return hashes

"""Read, tokenize and fingerprint files, spread over worker processes.

Tokenizing and winnowing are CPU-bound pure Python, so indexing a large repository uses one
process per core; the caller keeps the single SQLite writer. Results come back in order as
compact arrays (4 bytes per value) rather than millions of pickled tuples.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
from array import array
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path

from egress_watch.classify.proprietary.files import skipped_content
from egress_watch.classify.proprietary.lines import line_hashes
from egress_watch.classify.proprietary.tokenize import GENERIC, language_of, tokenize
from egress_watch.classify.proprietary.winnow import fingerprints

PARALLEL_FROM_BYTES = 256_000
"""Below this much source, starting worker processes costs more than it saves."""
CHUNK_FILES = 16

_public: frozenset[int] = frozenset()
_cache: dict[str, int] = {}


@dataclass(frozen=True, slots=True)
class FileFingerprints:
    """The winnowed k-grams of one file (public idioms removed), or why it was not read."""

    path: str
    size: int
    """Bytes read; -1 when the file could not be read."""
    skipped: str | None
    hashes: array[int]
    positions: array[int]
    lines: array[int]
    line_hashes: array[int]
    """Distinct CRC32s of the file's normalised lines (see ``lines.py``), minus public ones."""


def fingerprint_file(root: str, path: str) -> FileFingerprints:
    """Fingerprint ``root/path`` against this process's background and token cache."""
    try:
        data = Path(root, path).read_bytes()
    except OSError:
        return _nothing(path, -1, "unreadable")
    skipped = skipped_content(data)
    if skipped is not None:
        return _nothing(path, len(data), skipped)
    text = data.decode("utf-8", "replace")
    tokens = tokenize(text, language_of(path) or GENERIC, False)
    public = _public
    # Once each (a k-gram of two channels at one position would be a duplicate posting).
    kept = list(dict.fromkeys(fp for fp in fingerprints(tokens, _cache) if fp[0] not in public))
    known = {value for _, value in line_hashes(text, indexing=True)}.difference(public)
    return FileFingerprints(
        path,
        len(data),
        None,
        array("i", [fp[0] for fp in kept]),
        array("I", [fp[1] for fp in kept]),
        array("I", [fp[2] for fp in kept]),
        array("i", sorted(known)),
    )


def _nothing(path: str, size: int, why: str) -> FileFingerprints:
    """The result for a file that is not indexed."""
    return FileFingerprints(path, size, why, array("i"), array("I"), array("I"), array("i"))


def _start_worker(public: frozenset[int]) -> None:
    """Give a worker process the background's k-grams once, not with every file."""
    global _public
    _public = public
    _cache.clear()


def _can_fork() -> bool:
    """Fork workers only where it is safe and cheap: Linux, and no other thread running (a
    lock held by another thread at fork time would stay held in the child). Spawned workers
    would re-import the caller's main module, which scripts without a main guard cannot
    survive, so everything else indexes in this process."""
    return sys.platform == "linux" and threading.active_count() == 1


def fingerprint_files(
    root: Path, paths: Sequence[str], sizes: int, public: frozenset[int]
) -> Iterator[FileFingerprints]:
    """Fingerprints of ``paths`` under ``root``, in order; parallel when ``sizes`` (their
    total bytes, as listed) make it worth starting a process per core."""
    workers = min(os.cpu_count() or 1, 8)
    if workers < 2 or sizes < PARALLEL_FROM_BYTES or not _can_fork():
        _start_worker(public)
        yield from map(fingerprint_file, repeat(str(root)), paths)
        return
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_start_worker, initargs=(public,)
    ) as pool:
        yield from pool.map(fingerprint_file, repeat(str(root)), paths, chunksize=CHUNK_FILES)

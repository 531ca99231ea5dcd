"""Read, tokenize and fingerprint files, spread over worker processes.

Tokenizing and winnowing are CPU-bound pure Python, so indexing a large repository uses one
process per core; the caller keeps the single SQLite writer. Results come back in order as
compact arrays (4 bytes per value) rather than millions of pickled tuples. Inside
``kept_workers()`` (``index rebuild`` of many repositories, benches) the worker processes are
kept from one add to the next while the background they were given stays the same; otherwise
they stop when the add ends (forked children hold copies of the caller's open files).
"""

from __future__ import annotations

import atexit
import gc
import multiprocessing
import os
import sys
import threading
from array import array
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import compress, repeat
from operator import not_
from pathlib import Path

from egress_watch.classify.proprietary.files import skipped_content
from egress_watch.classify.proprietary.lines import line_hashes
from egress_watch.classify.proprietary.tokenize import GENERIC, language_of, tokenize
from egress_watch.classify.proprietary.winnow import CHANNELS, channel_ids, kgram_hashes, winnow

PARALLEL_FROM_BYTES = 256_000
"""Below this much source, starting worker processes costs more than it saves."""
PARALLEL_WARM_FROM_BYTES = 32_000
"""The same once workers are running (an earlier add of this process started them)."""
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
    kgrams: array[int]
    """Every distinct k-gram of the file, winnowed or not, minus public ones: how many files
    hold a k-gram is counted over these (``idioms.py``)."""


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
    hashes, positions = array("i"), array("I")
    every: set[int] = set()
    for channel in CHANNELS:
        kgrams = kgram_hashes(channel_ids(tokens, channel, _cache), channel)
        kept = winnow(kgrams, channel.w)
        values = list(map(kgrams.__getitem__, kept))
        if not public.isdisjoint(values):
            private = list(map(not_, map(public.__contains__, values)))
            kept = list(compress(kept, private))
            values = list(compress(values, private))
        if not every.isdisjoint(values):  # an earlier channel's k-gram at the same position
            earlier = dict(zip(positions, hashes, strict=True))  # (a 32-bit collision of
            fresh = [earlier.get(p) != h for p, h in zip(kept, values, strict=True)]  # salted
            kept = list(compress(kept, fresh))  # hashes) is the same posting: stored once
            values = list(compress(values, fresh))
        every.update(kgrams)
        hashes.extend(values)
        positions.extend(kept)
    known = {value for _, value in line_hashes(text, indexing=True)}.difference(public)
    return FileFingerprints(
        path,
        len(data),
        None,
        hashes,
        positions,
        array("I", map(tokens.lines.__getitem__, positions)),
        array("i", sorted(known)),
        array("i", every.difference(public)),
    )


def _nothing(path: str, size: int, why: str) -> FileFingerprints:
    """The result for a file that is not indexed."""
    empty = array("i")
    return FileFingerprints(path, size, why, empty, array("I"), array("I"), empty, empty)


def _start_worker(public: frozenset[int]) -> None:
    """Give a worker process the background's k-grams once, not with every file."""
    global _public
    _public = public
    _cache.clear()


def can_fork() -> bool:
    """Fork workers only where it is safe and cheap: Linux, and no other thread running (a
    lock held by another thread at fork time would stay held in the child). Spawned workers
    would re-import the caller's main module, which scripts without a main guard cannot
    survive, so everything else indexes in this process."""
    return sys.platform == "linux" and threading.active_count() == 1


_WORKERS = min(os.cpu_count() or 1, 8)
_pool: ProcessPoolExecutor | None = None
_pool_public: frozenset[int] | None = None
_keeping = 0


@contextmanager
def kept_workers() -> Iterator[None]:
    """Keep the worker processes from one add to the next inside this block (starting them
    costs more than fingerprinting a small repository); they stop when it ends."""
    global _keeping
    _keeping += 1
    try:
        yield
    finally:
        _keeping -= 1
        if not _keeping:
            stop_workers()


def _workers(public: frozenset[int], sizes: int) -> ProcessPoolExecutor | None:
    """Worker processes holding ``public``: the running ones when they hold the same
    background, else new ones when ``sizes`` bytes are worth starting them; None to index in
    this process."""
    global _pool, _pool_public
    if _pool is not None and (_pool_public is public or _pool_public == public):
        return _pool if sizes >= PARALLEL_WARM_FROM_BYTES else None
    if _WORKERS < 2 or sizes < PARALLEL_FROM_BYTES:
        return None
    stop_workers()
    if not can_fork():
        return None
    gc.freeze()  # the background's 1.2 M hashes: no collection of either process walks them
    context = multiprocessing.get_context("fork")
    _pool = ProcessPoolExecutor(
        _WORKERS, mp_context=context, initializer=_start_worker, initargs=(public,)
    )
    _pool_public = public
    return _pool


def stop_workers() -> None:
    """Stop the worker processes (at exit, or when a background change or a dead worker
    makes them useless)."""
    global _pool, _pool_public
    if _pool is not None:
        _pool.shutdown(wait=True, cancel_futures=True)
    _pool, _pool_public = None, None


atexit.register(stop_workers)


def fingerprint_files(
    root: Path, paths: Sequence[str], sizes: int, public: frozenset[int]
) -> Iterator[FileFingerprints]:
    """Fingerprints of ``paths`` under ``root``, in order; parallel when ``sizes`` (their
    total bytes, as listed) make it worth using a process per core."""
    pool = _workers(public, sizes)
    if pool is None:
        _start_worker(public)
        yield from map(fingerprint_file, repeat(str(root)), paths)
        return
    try:
        chunk = max(1, min(CHUNK_FILES, len(paths) // (4 * _WORKERS)))  # every worker busy
        yield from pool.map(fingerprint_file, repeat(str(root)), paths, chunksize=chunk)
    except BaseException:
        stop_workers()  # a dead worker breaks the pool; an interrupted map leaves work queued
        raise
    if not _keeping:
        stop_workers()

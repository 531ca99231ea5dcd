"""Read, tokenize and fingerprint files, spread over worker processes.

Tokenizing is CPU-bound pure Python (hashing and winnowing run over numpy arrays:
``winnow_np.py``), so indexing a large repository uses one process per core; the caller
keeps the single SQLite writer. Results come back in order as compact arrays (4 bytes per
value) rather than millions of pickled tuples. Inside
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
from itertools import repeat
from pathlib import Path
from typing import TYPE_CHECKING

from egress_watch.classify.proprietary.files import skipped_content
from egress_watch.classify.proprietary.lexicon import lexer
from egress_watch.classify.proprietary.lines import indexed_line_hashes
from egress_watch.classify.proprietary.tokenize import GENERIC, Tokens, language_of, tokenize
from egress_watch.classify.proprietary.winnow import CHANNELS

if TYPE_CHECKING:
    from egress_watch.classify.proprietary.winnow_np import I32, TokenIds

PARALLEL_FROM_BYTES = 256_000
"""Below this much source, starting worker processes costs more than it saves."""
PARALLEL_WARM_FROM_BYTES = 32_000
"""The same once workers are running (an earlier add of this process started them)."""
CHUNK_FILES = 16

_public: I32 | None = None
"""This process's background: sorted int32 hashes (``winnow_np.is_public``); None for none."""
_cache: dict[str, int] = {}
"""Slot of each token this process has seen (``winnow_np.TokenIds``)."""
_ids: TokenIds | None = None


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
    """Every distinct k-gram of the file, winnowed or not, sorted; public ones included (the
    main process leaves them out of the idioms it keeps): how many files hold a k-gram is
    counted over these (``idioms.py``)."""


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
    return _fingerprints(path, len(data), text, tokens)


def _fingerprints(path: str, size: int, text: str, tokens: Tokens) -> FileFingerprints:
    """The file's postings, line hashes and k-grams, computed over whole arrays.

    numpy is imported here, not with this module: the matcher imports this module (through
    ``shared.py``), and the proxy that runs it never needs numpy."""
    import numpy as np

    from egress_watch.classify.proprietary import winnow_np

    public = _sorted_public()
    kept_hashes, kept_positions, every = [], [], []
    taken = np.full(len(tokens.values), 1 << 32, np.int64)  # no 32-bit hash is this
    every_ids = _token_ids().of(tokens.values, CHANNELS)
    for channel, ids in zip(CHANNELS, every_ids, strict=True):
        kgrams = winnow_np.kgram_hashes(ids, channel)
        kept = winnow_np.winnow(kgrams, channel.w)
        values = kgrams[kept]
        # Neither public, nor an earlier channel's k-gram at the same position (a 32-bit
        # collision of salted hashes is the same posting: stored once).
        private = ~winnow_np.is_public(values, public)
        private &= taken[kept] != values
        kept, values = kept[private], values[private]
        taken[kept] = values
        kept_hashes.append(values)
        kept_positions.append(kept)
        every.append(kgrams)
    positions = np.concatenate(kept_positions)
    lines = np.array(tokens.lines, np.uint32)[positions]
    known = winnow_np.distinct(np.frombuffer(indexed_line_hashes(text), np.int32))
    known = known[~winnow_np.is_public(known, public)]
    return FileFingerprints(
        path,
        size,
        None,
        winnow_np.as_array(np.concatenate(kept_hashes), "i"),
        winnow_np.as_array(positions, "I"),
        winnow_np.as_array(lines, "I"),
        winnow_np.as_array(known, "i"),
        winnow_np.as_array(winnow_np.distinct(np.concatenate(every)), "i"),
    )


def _nothing(path: str, size: int, why: str) -> FileFingerprints:
    """The result for a file that is not indexed."""
    empty = array("i")
    return FileFingerprints(path, size, why, empty, array("I"), array("I"), empty, empty)


def _start_worker(public: I32) -> None:
    """Give a worker process the background's k-grams (sorted) once, not with every file."""
    global _public, _ids
    _public = public
    _cache.clear()
    _ids = None


def _token_ids() -> TokenIds:
    """This process's token ids, kept from file to file (tokens repeat a lot)."""
    global _ids
    if _ids is None:
        from egress_watch.classify.proprietary.winnow_np import TokenIds

        _ids = TokenIds(_cache)
    return _ids


def _sorted_public() -> I32:
    """This process's background as a sorted array (``winnow_np.is_public``)."""
    global _public
    if _public is None:
        import numpy as np

        _public = np.empty(0, np.int32)
    return _public


def can_fork() -> bool:
    """Fork workers only where it is safe and cheap: Linux, and no other thread running (a
    lock held by another thread at fork time would stay held in the child). Spawned workers
    would re-import the caller's main module, which scripts without a main guard cannot
    survive, so everything else indexes in this process."""
    return sys.platform == "linux" and threading.active_count() == 1


_WORKERS = min(os.cpu_count() or 1, 8)
_pool: ProcessPoolExecutor | None = None
_pool_public: I32 | None = None
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


def _workers(public: I32, sizes: int) -> ProcessPoolExecutor | None:
    """Worker processes holding ``public``: the running ones when they hold the same
    background, else new ones when ``sizes`` bytes are worth starting them; None to index in
    this process."""
    global _pool, _pool_public
    if _pool is not None and _pool_public is not None and _same(_pool_public, public):
        return _pool if sizes >= PARALLEL_WARM_FROM_BYTES else None
    if _WORKERS < 2 or sizes < PARALLEL_FROM_BYTES:
        return None
    stop_workers()
    if not can_fork():
        return None
    _start_worker(public)  # numpy and the background, loaded here once, are inherited by
    gc.freeze()  # every forked worker; no collection of either process walks them again
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


def _same(held: I32, public: I32) -> bool:
    """True when the workers' background ``held`` is ``public`` (the same array, or equal)."""
    return held is public or (len(held) == len(public) and bool((held == public).all()))


def fingerprint_files(
    root: Path, paths: Sequence[str], sizes: int, public: I32
) -> Iterator[FileFingerprints]:
    """Fingerprints of ``paths`` under ``root``, in order; parallel when ``sizes`` (their
    total bytes, as listed) make it worth using a process per core."""
    for language in {language_of(path) or GENERIC for path in paths}:
        lexer(language)  # compiled once here, before workers fork: not once in each of them
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

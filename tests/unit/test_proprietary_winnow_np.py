"""Indexing fingerprints with numpy (issue 17, item 5): the same hashes, positions, lines and
k-grams as the pure-Python reference that queries keep, and numpy never in the proxy."""

from __future__ import annotations

import json
import subprocess
import sys
from array import array
from itertools import compress
from operator import not_
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from egress_watch.classify.proprietary import jobs, shared, winnow_np
from egress_watch.classify.proprietary.files import PublicFile, skipped_content
from egress_watch.classify.proprietary.lines import line_hashes
from egress_watch.classify.proprietary.sources import python_stdlib
from egress_watch.classify.proprietary.tokenize import GENERIC, language_of, tokenize
from egress_watch.classify.proprietary.winnow import (
    CHANNELS,
    RAW,
    Channel,
    channel_ids,
    kgram_hashes,
    winnow,
)

BOUNDED = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
EDGE = max(c.k + c.w for c in CHANNELS) + 2
"""Lengths up to one k-gram plus one window and a bit: where the edge cases are."""
INT32 = st.integers(-(2**31), 2**31 - 1)


def _ids(draw_from: st.SearchStrategy[int]) -> st.SearchStrategy[list[int]]:
    """Token-id lists: short ones at the edges, longer ones, and ids from a tiny alphabet
    (long runs of the same token: equal k-grams, ties for winnowing)."""
    return st.one_of(
        st.lists(draw_from, max_size=EDGE),
        st.lists(draw_from, max_size=400),
    )


UINT32 = st.integers(0, 2**32 - 1)
FEW_IDS = st.sampled_from([0, 1, 2, 2**32 - 1])


@BOUNDED
@given(ids=st.one_of(_ids(UINT32), _ids(FEW_IDS)), channel=st.sampled_from(CHANNELS))
def test_kgram_hashes_and_winnowing_equal_the_pure_python_ones(
    ids: list[int], channel: Channel
) -> None:
    reference = kgram_hashes(ids, channel)
    hashes = winnow_np.kgram_hashes(np.array(ids, np.uint32), channel)
    assert hashes.dtype == np.int32
    assert hashes.tolist() == reference
    assert winnow_np.winnow(hashes, channel.w).tolist() == winnow(reference, channel.w)


@BOUNDED
@given(
    hashes=st.one_of(
        st.lists(INT32, max_size=EDGE),
        st.lists(st.sampled_from([-(2**31), -1, 0, 1, 2**31 - 1]), max_size=200),
        st.lists(st.integers(0, 3), max_size=200),
    ),
    w=st.integers(1, 9),
)
def test_winnowing_keeps_every_tied_minimum_as_the_reference_does(
    hashes: list[int], w: int
) -> None:
    found = winnow_np.winnow(np.array(hashes, np.int32), w)
    assert found.tolist() == winnow(hashes, w)


@BOUNDED
@given(st.lists(st.one_of(st.integers(0, 2**64 - 1), st.sampled_from([2**64 - 1, 0, 2**63]))))
def test_folding_a_64_bit_hash_is_cpythons_hash_shifted(values: list[int]) -> None:
    """CPython never returns -1 as a hash (it gives 1546275796): no k-gram of real ids seems
    to reach it, so folding is checked on its own, on every 64-bit value."""
    signed = [v - (1 << 64) if v >= 1 << 63 else v for v in values]
    expected = [(1546275796 if h == -1 else h) >> 32 for h in signed]
    assert winnow_np.folded(np.array(values, np.uint64)).tolist() == expected


def test_distinct_is_sorted_and_complete() -> None:
    values = np.array([5, -3, 5, 2**31 - 1, -(2**31), -3, 0], np.int32)
    assert winnow_np.distinct(values).tolist() == sorted(set(values.tolist()))
    assert winnow_np.distinct(np.empty(0, np.int32)).tolist() == []


def test_public_lookup_by_bisection_equals_set_membership() -> None:
    public = frozenset([-(2**31), -7, 0, 3, 2**31 - 1])
    values = np.array([2**31 - 1, 4, -7, -(2**31), 1, 3, 3, -8], np.int32)
    background = winnow_np.sorted_background(public)
    assert winnow_np.is_public(values, background).tolist() == [v in public for v in values]
    empty = winnow_np.sorted_background(frozenset())
    assert not winnow_np.is_public(values, empty).any()


def _reference(root: str, path: str, public: frozenset[int]) -> jobs.FileFingerprints:
    """The pure-Python fingerprinting the index had before numpy (kept here as the
    reference), with ``kgrams`` holding every distinct k-gram, public ones included."""
    data = Path(root, path).read_bytes()
    skipped = skipped_content(data)
    if skipped is not None:
        nothing, none = array("i"), array("I")
        return jobs.FileFingerprints(
            path, len(data), skipped, nothing, none, none, nothing, nothing
        )
    text = data.decode("utf-8", "replace")
    tokens = tokenize(text, language_of(path) or GENERIC, False)
    hashes, positions = array("i"), array("I")
    every: set[int] = set()
    for channel in jobs.CHANNELS:
        kgrams = kgram_hashes(channel_ids(tokens, channel, {}), channel)
        kept = winnow(kgrams, channel.w)
        values = list(map(kgrams.__getitem__, kept))
        private = list(map(not_, map(public.__contains__, values)))
        kept, values = list(compress(kept, private)), list(compress(values, private))
        earlier = dict(zip(positions, hashes, strict=True))
        fresh = [earlier.get(p) != h for p, h in zip(kept, values, strict=True)]
        kept, values = list(compress(kept, fresh)), list(compress(values, fresh))
        every.update(kgrams)
        hashes.extend(values)
        positions.extend(kept)
    known = {value for _, value in line_hashes(text, indexing=True)}.difference(public)
    return jobs.FileFingerprints(
        path,
        len(data),
        None,
        hashes,
        positions,
        array("I", map(tokens.lines.__getitem__, positions)),
        array("i", sorted(known)),
        array("i", sorted(every)),
    )


def _sample(root: Path, pattern: str, count: int) -> list[tuple[str, str]]:
    """``count`` files spread over everything matching ``pattern`` under ``root``."""
    found = sorted(root.rglob(pattern)) if root.is_dir() else []
    step = max(1, len(found) // count)
    return [(str(root), str(path.relative_to(root))) for path in found[::step][:count]]


INSTALLED = [
    *_sample(python_stdlib(), "*.py", 14),
    *_sample(Path("/usr/share/gocode/src"), "*.go", 14),
    *_sample(Path("/usr/lib/node_modules"), "*.js", 14),
]


def _half_public(files: list[tuple[str, str]]) -> frozenset[int]:
    """A background holding some k-grams and lines of these files (so filtering runs)."""
    public: set[int] = set()
    for root, path in files:
        every = _reference(root, path, frozenset())
        public.update(every.kgrams[::3])
        public.update(every.line_hashes[::2])
    return frozenset(public)


@pytest.mark.skipif(len(INSTALLED) < 20, reason="too little public source installed here")
def test_real_files_fingerprint_exactly_as_the_pure_python_reference() -> None:
    languages = {language_of(path) for _, path in INSTALLED}
    assert len(languages) >= 2
    public = _half_public(INSTALLED)
    for background in (frozenset(), public):
        jobs._start_worker(winnow_np.sorted_background(background))
        for root, path in INSTALLED:
            expected = _reference(root, path, background)
            assert jobs.fingerprint_file(root, path) == expected, path
            if background and expected.skipped is None:
                assert not set(expected.hashes) & background


def test_a_kgram_an_earlier_channel_stored_at_that_position_is_stored_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two channels hashing alike (as a 32-bit collision would at one position): the second
    stores nothing the first stored, exactly as the reference."""
    twin = Channel("twin", RAW.salt, RAW.k, RAW.w, renamed=False)
    monkeypatch.setattr(jobs, "CHANNELS", (RAW, twin))
    root, path = INSTALLED[0]
    jobs._start_worker(winnow_np.sorted_background(frozenset()))
    found = jobs.fingerprint_file(root, path)
    assert found == _reference(root, path, frozenset())
    assert len(set(found.positions)) == len(found.positions)


NUMPY_FREE = """
import json, sys
import egress_watch.capture.worker_pool, egress_watch.classify.engine
from egress_watch.classify.proprietary import matcher, shared, jobs, lines, winnow
print(json.dumps(sorted(m for m in sys.modules if m == "numpy" or m.startswith("numpy."))))
"""


def test_the_proxys_classifying_code_and_the_matcher_never_import_numpy() -> None:
    """Only indexing loads numpy: every inspection worker would otherwise pay for it. (The
    proxy's main process gets numpy from sqlite-utils, which imports it when installed.)"""
    done = subprocess.run(
        [sys.executable, "-c", NUMPY_FREE], capture_output=True, text=True, check=True
    )
    assert json.loads(done.stdout) == []


@BOUNDED
@given(
    files=st.lists(st.sets(st.integers(-(2**31), 2**31 - 1) | st.integers(0, 40)), max_size=30),
    batch=st.integers(1, 60),
)
def test_values_in_two_or_more_files_are_counted_as_with_sets(
    files: list[set[int]], batch: int
) -> None:
    """The background's counting (sorted arrays merged in batches) finds what the sets did."""
    seen: set[int] = set()
    common: set[int] = set()
    counted = winnow_np.SeenTwice(batch)
    for values in files:
        common |= seen & values
        seen |= values
        counted.add(np.array(sorted(values), np.int32)[::-1].copy())
    found = counted.common()
    assert found.tolist() == sorted(common)


def test_a_public_files_hashes_are_its_kgrams_and_lines_as_before() -> None:
    """The background is built from each public file's distinct k-grams (every channel) and
    line hashes: the same set the pure-Python code gave."""
    for root, path in INSTALLED[::4]:
        source = Path(root, path)
        data = source.read_bytes()
        size, hashes = shared.file_hashes(PublicFile(source, None, len(data), path))
        if skipped_content(data) is not None:
            assert (size, list(hashes)) == (0, [])
            continue
        text = data.decode("utf-8", "replace")
        tokens = tokenize(text, language_of(path) or GENERIC)
        expected = {value for _, value in line_hashes(text, indexing=True)}
        for channel in CHANNELS:
            expected.update(kgram_hashes(channel_ids(tokens, channel, {}), channel))
        assert size == len(data)
        assert list(hashes) == sorted(expected), path

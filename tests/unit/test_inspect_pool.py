"""Analysis in worker processes (issue 15, item 7): same results as in-process, a killed worker
is replaced without losing the request, and a queued-out request is not classified. With a code
index, one body is split between two workers (code match | the rest) and merges into exactly
the unsplit findings."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from egress_watch.analysis import Analysis, Job, analyse
from egress_watch.capture.worker_pool import (
    POOL_FROM_BYTES,
    AnalysisPool,
    EngineSpec,
)
from egress_watch.catalog.services import builtin_catalog
from egress_watch.classify.engine import CHUNK_CHARS, CONTEXT_AFTER, Engine
from egress_watch.classify.proprietary.index import index_path, open_index
from egress_watch.classify.proprietary.repos import add_repo
from egress_watch.config.settings import Settings
from egress_watch.model import Capture, Category
from egress_watch.pipeline import Inspector, Policy
from tests.conftest import fake_aws_key_id, fake_aws_secret
from tests.support.export_receivers import wait_until
from tests.support.own_code import own_source

pytestmark = pytest.mark.slow  # starts worker processes

KEY = b"k" * 32
SETTINGS = Settings(
    infra_domains=("corp.example",),
    marker_words=("bluefalcon",),
    allow_values=("^AKIA0{16}$",),
)
CODE = (
    "def authenticate(user, password):\n"
    "    if not verify_password(password, user.password_hash):\n"
    "        raise PermissionDenied('bad password')\n"
    "    return session_token(user)\n"
    "# see https://build.corp.example/ci for project bluefalcon\n"
)


def chat_body(size: int, nonce: int) -> bytes:
    """A chat request of about ``size`` bytes of code, one planted fake key pair."""
    text = f"# request {nonce}\n" + CODE * (size // len(CODE))
    text += (
        f"\naws_access_key_id = {fake_aws_key_id()}\naws_secret_access_key = {fake_aws_secret()}\n"
    )
    return json.dumps({"model": "m", "messages": [{"role": "user", "content": text}]}).encode()


def job(body: bytes, deadline: float | None = None) -> Job:
    return Job(body, "openai", content_type="application/json", deadline=deadline)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    return Engine.configured(KEY, SETTINGS, tmp_path_factory.mktemp("config"))


@pytest.fixture(scope="module")
def pool(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AnalysisPool]:
    spec = EngineSpec.of(KEY, SETTINGS, tmp_path_factory.mktemp("config"))
    started = AnalysisPool(engine, spec)
    body = chat_body(100_000, 0)
    assert started.analyse(job(body)) == analyse(engine, job(body))  # here, while they start
    assert not started.pids() or not started.ready()
    wait_ready(started)
    yield started
    started.close()


def wait_ready(pool: AnalysisPool) -> None:
    wait_until(pool.ready, "the analysis workers to start", timeout=60)


def categories(analysis: Analysis) -> set[Category]:
    return {f.category for f in analysis.found}


def test_a_worker_finds_what_the_proxys_own_engine_finds(
    engine: Engine, pool: AnalysisPool
) -> None:
    body = chat_body(300_000, 1)
    here = analyse(engine, job(body))
    there = pool.analyse(job(body))
    assert pool.pids()
    assert os.getpid() not in pool.pids()
    assert there == here
    # the settings reached the worker: infra domain, marker word, secret, logic
    assert {Category.SECRET, Category.INFRA, Category.MARKER, Category.LOGIC} <= categories(there)
    assert there.complete
    assert there.anchor is not None


def test_small_bodies_stay_in_the_proxys_process(engine: Engine, pool: AnalysisPool) -> None:
    body = chat_body(POOL_FROM_BYTES // 4, 2)
    assert len(body) < POOL_FROM_BYTES
    assert pool.analyse(job(body)) == analyse(engine, job(body))


def test_a_worker_killed_mid_analysis_is_replaced_and_the_body_analysed_again(
    engine: Engine, pool: AnalysisPool
) -> None:
    body = chat_body(1_500_000, 3)  # a few hundred ms of work: long enough to be killed in
    before, respawns = set(pool.pids()), pool.respawns
    result: list[Analysis] = []
    worker = threading.Thread(target=lambda: result.append(pool.analyse(job(body))))
    worker.start()
    deadline = time.monotonic() + 30
    while not pool.in_flight and time.monotonic() < deadline:  # submitted: killed before or
        worker.join(timeout=0.01)  # while a worker runs it, the body must be analysed again
    for pid in before:
        os.kill(pid, signal.SIGKILL)
    worker.join(timeout=120)
    assert result, "the analysis was lost with its worker"
    assert pool.respawns == respawns + 1
    assert set(pool.pids()).isdisjoint(before)
    assert result[0] == analyse(engine, job(body))
    assert Category.SECRET in categories(result[0])
    wait_ready(pool)  # the replacements take bodies again


def test_a_body_past_its_deadline_in_the_queue_still_has_its_first_chunk_scanned(
    engine: Engine, pool: AnalysisPool
) -> None:
    """As on the proxy's thread: only a request that waited out its budget before an inspector
    took it is left unread; once taken, its first chunk is scanned (redact mode forwards what
    it did not read)."""
    late = job(chat_body(200_000, 5), deadline=time.monotonic() - 1)
    analysis = pool.analyse(late)
    assert analysis == analyse(engine, late)
    assert Category.SECRET in categories(analysis)
    unread = pool.analyse(dataclasses.replace(late, waited_out=True))
    assert unread.extraction.segments == ()
    assert unread.found == []
    assert not unread.complete


def test_workers_that_cannot_start_leave_analysis_in_the_proxys_process(
    engine: Engine, tmp_path: Path
) -> None:
    # A baseline the proxy read at start is gone when its workers start (a reload raced it).
    baseline = tmp_path / ".secrets.baseline"
    baseline.write_text('{"results": {}}')
    spec = EngineSpec.of(KEY, Settings(allow_baselines=(str(baseline),)), tmp_path)
    baseline.unlink()
    broken = AnalysisPool(engine, spec, workers=1)
    inspector = Inspector(builtin_catalog(), engine, Policy(), analyser=broken)
    route = builtin_catalog().route("api.openai.com", "/v1/chat/completions")
    assert route is not None
    capture = Capture(
        "POST", "https", "api.openai.com", 443, "/v1/chat/completions",
        (("content-type", "application/json"),), chat_body(100_000, 6), None,
    )  # fmt: skip
    try:
        for _ in range(3):  # before and after the worker failed to start
            inspection = inspector.inspect(capture, route)
            assert inspection.event.uninspected_reason is None
            assert any(f.rule == "aws-access-key" for f in inspection.event.findings)
        assert not broken.ready()
    finally:
        broken.close()


# --- split analysis: one body, two workers (code match | everything else) ---


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A config dir whose code index holds a copy of egress_watch's pipeline module."""
    config = tmp_path_factory.mktemp("indexed")
    repo = config / "ledger"
    repo.mkdir()
    shutil.copy(own_source("pipeline.py"), repo / "core.py")
    conn = open_index(index_path(config))
    add_repo(conn, repo, "ledger")
    conn.close()
    return config


@pytest.fixture(scope="module")
def split_pool(indexed: Path) -> Iterator[tuple[Engine, AnalysisPool]]:
    engine = Engine.configured(KEY, SETTINGS, indexed)
    started = AnalysisPool(engine, EngineSpec.of(KEY, SETTINGS, indexed))
    started.analyse(job(chat_body(100_000, 10)))  # starts the workers
    wait_ready(started)
    yield engine, started
    started.close()


def excerpt(indexed: Path) -> str:
    lines = (indexed / "ledger" / "core.py").read_text().split("\n")
    return "\n".join(lines[39:69])


def mixed_body(indexed: Path, nonce: int) -> bytes:
    """Three segments: one past a chunk, with indexed code early in its first chunk and in its
    second, before planted keys and infra/marker lines (so the merge's order matters); one
    short with code and a key; one with no code at all."""
    code = f"\n```python\n{excerpt(indexed)}\n```\n"
    key = f"\naws_access_key_id = {fake_aws_key_id()}\n"
    filler = CODE * ((CHUNK_CHARS // 2) // len(CODE))
    long_text = f"# {nonce}\n" + code + filler + key + filler + code + filler + key
    assert len(long_text) > CHUNK_CHARS + CONTEXT_AFTER  # scanned in chunks
    messages = [
        {"role": "user", "content": long_text},
        {"role": "user", "content": "Speed this up?" + code + key},
        {"role": "user", "content": "deploy to https://build.corp.example/ci " + str(nonce)},
    ]
    return json.dumps({"model": "m", "messages": messages}).encode()


def test_a_body_split_between_two_workers_finds_exactly_what_one_scan_finds(
    split_pool: tuple[Engine, AnalysisPool], indexed: Path
) -> None:
    engine, pool = split_pool
    body = job(mixed_body(indexed, 11))
    splits = pool.splits
    there = pool.analyse(body)
    assert pool.splits == splits + 1, "an indexed body alone in the pool was not split"
    here = analyse(engine, body)
    assert there == here  # same findings, order, offsets, segment indexes, anchor
    assert there.complete
    assert {Category.SECRET, Category.INFRA, Category.PROPRIETARY} <= categories(there)
    first = [f for f in there.found if f.segment_index == 0]
    code_at = [f.start for f in first if f.category is Category.PROPRIETARY]
    assert len(code_at) >= 2, "indexed code in both chunks of the long segment"
    assert any(f.start > min(code_at) for f in first if f.category is not Category.PROPRIETARY)
    assert {f.segment_index for f in there.found if f.category is Category.PROPRIETARY} == {0, 1}
    assert pool.analyse(body) == here  # again, from the workers' caches (kept per part)


def test_the_cache_never_answers_one_part_with_another_parts_findings(indexed: Path) -> None:
    """A worker caches the part it ran; the other part, or the whole, of the same text later
    (in that worker or in the proxy) must not come back with those findings only."""
    fresh = Engine.configured(KEY, SETTINGS, indexed)
    segments = analyse(fresh, job(mixed_body(indexed, 16))).extraction.segments
    whole = Engine.configured(KEY, SETTINGS, indexed).classify_within(segments, None)[0]
    code = [f for f in whole if f.category is Category.PROPRIETARY]
    assert code
    assert fresh.classify_within(segments, None, "code")[0] == code
    assert fresh.classify_within(segments, None, "scan")[0] == [
        f for f in whole if f.category is not Category.PROPRIETARY
    ]
    assert fresh.classify_within(segments, None, "code")[0] == code  # from the cache
    assert fresh.classify_within(segments, None)[0] == whole


def test_a_split_past_its_deadline_scans_the_first_chunk_and_is_incomplete(
    split_pool: tuple[Engine, AnalysisPool], indexed: Path
) -> None:
    engine, pool = split_pool
    late = job(mixed_body(indexed, 12), deadline=time.monotonic() - 1)
    analysis = pool.analyse(late)
    assert analysis == analyse(engine, late)
    assert not analysis.complete
    assert {Category.PROPRIETARY, Category.INFRA} <= categories(analysis)


def test_workers_killed_during_a_split_analysis_still_give_its_findings(
    split_pool: tuple[Engine, AnalysisPool], indexed: Path
) -> None:
    engine, pool = split_pool
    body = job(mixed_body(indexed, 13))
    before, respawns, splits = set(pool.pids()), pool.respawns, pool.splits
    result: list[Analysis] = []
    worker = threading.Thread(target=lambda: result.append(pool.analyse(body)))
    worker.start()
    deadline = time.monotonic() + 30
    while not pool.in_flight and time.monotonic() < deadline:
        worker.join(timeout=0.01)
    for pid in before:
        os.kill(pid, signal.SIGKILL)
    worker.join(timeout=120)
    assert result, "the analysis was lost with its workers"
    assert pool.respawns == respawns + 1
    assert pool.splits == splits + 1  # the retry split again, in the new workers
    assert result[0] == analyse(engine, body)
    assert {Category.SECRET, Category.PROPRIETARY} <= categories(result[0])
    wait_ready(pool)


def test_a_body_is_not_split_while_another_is_in_the_pool(
    split_pool: tuple[Engine, AnalysisPool], indexed: Path
) -> None:
    engine, pool = split_pool
    body = job(mixed_body(indexed, 14))
    splits = pool.splits
    pool.in_flight += 1  # as while another inspector thread waits for its body
    try:
        assert pool.analyse(body) == analyse(engine, body)
    finally:
        pool.in_flight -= 1
    assert pool.splits == splits


def test_without_a_code_index_bodies_are_not_split(pool: AnalysisPool) -> None:
    splits = pool.splits
    pool.analyse(job(chat_body(200_000, 15)))
    assert pool.splits == splits == 0

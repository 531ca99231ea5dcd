"""Analysis in worker processes (issue 15, item 7): same results as in-process, a killed worker
is replaced without losing the request, and a queued-out request is not classified."""

from __future__ import annotations

import dataclasses
import json
import os
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
from egress_watch.classify.engine import Engine
from egress_watch.config.settings import Settings
from egress_watch.model import Capture, Category
from egress_watch.pipeline import Inspector, Policy
from tests.conftest import fake_aws_key_id, fake_aws_secret
from tests.support.export_receivers import wait_until

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

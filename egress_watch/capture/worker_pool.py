"""Analysis (decode, extract, classify) of large request bodies in worker processes.

Why: analysing a large body is pure CPU in Python (JSON, the secret, infra and logic
detectors). Run on the proxy's own threads it holds the interpreter lock, so mitmproxy's event
loop (TLS, reading, forwarding) and the history writer starve under a flood of large bodies,
and one core stays idle. Here the body goes to a few worker processes, each with its own Engine
built once from the same settings; the extraction, the findings (spans, rules, masks and keyed
fingerprints, never a value) and the conversation anchor come back, as ``analysis.analyse``
returns them in-process. Everything stateful (the vault, placeholders, policy, redaction, the
database) stays in the proxy's process.

A worker that dies (killed, out of memory) breaks the pool: it is replaced and the body is
sent once more; a second death raises ``WorkerCrashed``, which the proxy treats as any
inspection failure (its fail mode decides). Small bodies are analysed in the calling thread:
sending them costs more than analysing them.

With a code index, matching code costs about as much as everything else together; one body
alone in the pool is then analysed by two workers at once, one matching code, the other
running the rest (decode and extract run in both), and the two finding lists merge into the
unsplit one (``analysis.merge_parts``). When another body is in the pool, a body is not split:
its second half would only queue behind it.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from egress_watch.analysis import Analysis, Job, analyse, merge_parts
from egress_watch.classify import kingfisher
from egress_watch.classify.engine import Engine
from egress_watch.config.settings import Settings

log = logging.getLogger(__name__)

WORKERS: int = min(2, os.cpu_count() or 1)
POOL_FROM_BYTES: int = 64 * 1024
"""Smaller bodies are analysed in the proxy's process."""
RESTART_AFTER_S: float = 10.0
"""Workers that did not start are tried again after this (meanwhile bodies are analysed in
the proxy's process): no busy loop of failing starts."""

ENGINE_SETTINGS: tuple[str, ...] = (
    "allow_fingerprints", "allow_rules", "allow_values", "allow_paths", "allow_baselines",
    "infra_domains", "marker_words", "marker_owners",
)  # fmt: skip
"""The settings Engine.configured reads; only these go to a worker (the policy tables do not
pickle, and a worker has no use for them). A field Engine.configured starts reading must be
added here: tests/unit/test_inspect_pool.py compares a pool's findings with the engine's."""


class WorkerCrashed(RuntimeError):
    """An analysis worker died twice on the same request."""


@dataclass(frozen=True, slots=True)
class EngineSpec:
    """What a worker needs to build the same Engine as the proxy's (picklable)."""

    hmac_key: bytes
    settings: tuple[tuple[str, Any], ...]
    """The ENGINE_SETTINGS fields' values (a whole Settings does not pickle)."""
    config_dir: Path
    rule_cache: Path
    """kingfisher's compiled-rule cache of the proxy's data home (a worker has no --home)."""

    @classmethod
    def of(cls, hmac_key: bytes, settings: Settings, config_dir: Path) -> EngineSpec:
        """The spec of ``Engine.configured(hmac_key, settings, config_dir)`` in this process."""
        wanted = tuple((name, getattr(settings, name)) for name in ENGINE_SETTINGS)
        return cls(hmac_key, wanted, config_dir, kingfisher.rule_cache_dir())


_engine: Engine | None = None

_RETIRED: deque[ProcessPoolExecutor] = deque(maxlen=64)
"""Executors shut down, kept alive: in CPython 3.12.1 collecting a broken executor while its
manager thread terminates it deadlocks that thread (its weakref callback takes the lock the
thread holds), and interpreter exit then waits for it forever."""


def _start_worker(spec: EngineSpec) -> None:
    """Worker initializer: build the engine once; later tasks only classify."""
    global _engine
    os.environ[kingfisher.CACHE_ENV] = str(spec.rule_cache)
    settings = Settings(**dict(spec.settings))
    _engine = Engine.configured(spec.hmac_key, settings, spec.config_dir, strict_index=False)
    _engine.warm_up()  # the first large request with code does not pay the index's loading


def _analyse(job: Job) -> tuple[Analysis, int]:
    """Worker task: ``analyse`` with this worker's engine, and its pid (for tests and logs).

    The deadline applies as on the proxy's thread: the first chunk is always scanned, the
    rest while time is left (a job that queued here is not dropped unread: in redact mode an
    unread body would be forwarded as it is).
    """
    assert _engine is not None, "worker started without its engine"
    return analyse(_engine, job), os.getpid()


def _started() -> bool:
    """Worker task that does nothing: once it returns, a worker has built its engine."""
    return _engine is not None


class AnalysisPool:
    """``analyse`` run in worker processes for large bodies.

    Thread-safe: the proxy's inspector threads share one. Workers start on the first large
    request and are replaced when one dies; ``close`` stops them (a reload makes a new pool).
    Until the workers are ready (starting takes a second or more: each builds its engine),
    bodies are analysed in the calling thread as before, so no request spends its time budget
    waiting for a worker to start, and workers that cannot start leave analysis here.
    """

    def __init__(self, engine: Engine, spec: EngineSpec, workers: int = WORKERS) -> None:
        self.engine = engine
        """The proxy's own engine, for small bodies (same settings as the workers')."""
        self._spec = spec
        self._workers = workers
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None
        self._ready: ProcessPoolExecutor | None = None
        """The executor once its workers have started (None while they start)."""
        self._failed: ProcessPoolExecutor | None = None
        self._failed_at = 0.0
        """The executor whose workers did not start, and when that was seen."""
        self._closed = False
        self.respawns = 0
        """Pools replaced after a worker died (for status and tests)."""
        self.in_flight = 0
        """Bodies sent to the workers and not answered yet (approximate: not locked)."""
        self.splits = 0
        """Bodies analysed by two workers at once (for status and tests)."""

    def analyse(self, job: Job) -> Analysis:
        """``analysis.analyse(job)``, in a worker when the body is large.

        Raises:
            WorkerCrashed: a worker died on this body, and again in a fresh pool.
        """
        if len(job.body) < POOL_FROM_BYTES or job.waited_out or self._closed:
            return analyse(self.engine, job)
        executor = self._executor_now()
        if executor is self._failed and time.monotonic() - self._failed_at > RESTART_AFTER_S:
            self._replace(executor)  # killed while starting, or could not start: try again
        if executor is not self._ready:  # starting (or unable to): do it here
            return analyse(self.engine, job)
        split = self._workers >= 2 and not self.in_flight and self.engine.matches_code()
        for attempt in (1, 2):
            executor = self._executor_now()
            try:
                self.in_flight += 1
                if split:
                    return self._split(executor, job)
                return executor.submit(_analyse, job).result()[0]
            except BrokenProcessPool:
                self._replace(executor)
                log.error("egress-watch: an analysis worker died; replaced (try %d)", attempt)
                if attempt == 2:
                    raise WorkerCrashed("analysis worker died twice on one request") from None
            finally:
                self.in_flight -= 1
        raise AssertionError("unreachable")  # pragma: no cover

    def _split(self, executor: ProcessPoolExecutor, job: Job) -> Analysis:
        """``job`` analysed by two workers at once: the code match, and everything else."""
        coded = executor.submit(_analyse, replace(job, part="code"))
        scanned = executor.submit(_analyse, replace(job, part="scan"))
        analysis = merge_parts(scanned.result()[0], coded.result()[0])
        self.splits += 1
        return analysis

    def pids(self) -> list[int]:
        """The live workers' process ids (none before the first large request)."""
        with self._lock:
            executor = self._executor
        processes = getattr(executor, "_processes", None) or {}
        return [p.pid for p in list(processes.values()) if p.pid is not None and p.is_alive()]

    def close(self) -> None:
        """Stop the workers; inspections already running finish first, in the background."""
        with self._lock:
            self._closed = True
            executor, self._executor = self._executor, None
        if executor is not None:
            _RETIRED.append(executor)
            executor.shutdown(wait=False, cancel_futures=False)

    def ready(self) -> bool:
        """True once the current workers have started and take bodies."""
        with self._lock:
            return self._executor is not None and self._executor is self._ready

    def _executor_now(self) -> ProcessPoolExecutor:
        """The current executor; a new one starts its workers in the background."""
        with self._lock:
            if self._executor is None:
                context = multiprocessing.get_context("forkserver")
                context.set_forkserver_preload([__name__])
                executor = ProcessPoolExecutor(
                    self._workers, context, initializer=_start_worker, initargs=(self._spec,)
                )
                self._executor = executor
                for _ in range(self._workers):  # one task per worker: each starts one
                    started = executor.submit(_started)
                    started.add_done_callback(lambda done: self._mark_ready(executor, done))
            return self._executor

    def _mark_ready(self, executor: ProcessPoolExecutor, started: Future[bool]) -> None:
        if started.cancelled() or started.exception() is not None:
            with self._lock:
                if self._executor is not executor or self._failed is executor:
                    return
                self._failed, self._failed_at = executor, time.monotonic()
            log.error("egress-watch: analysis workers did not start; analysing in the proxy")
            return
        with self._lock:
            if self._executor is not executor or self._ready is executor:
                return
            self._ready = executor
        log.info("egress-watch: %d analysis workers ready", self._workers)

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        """Drop a broken pool (once, however many threads saw it break)."""
        with self._lock:
            if self._executor is not broken:
                return
            self._executor = None
            self.respawns += 1
        _RETIRED.append(broken)
        broken.shutdown(wait=False, cancel_futures=True)

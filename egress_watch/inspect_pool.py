"""Classification of large texts in worker processes.

Why: classifying a large body is pure CPU in Python (secret, infra and logic detectors). Run on
the proxy's own threads it holds the interpreter lock, so mitmproxy's event loop (TLS, reading,
forwarding) starves under a flood of large bodies and one core stays idle. Here the texts go to
a few worker processes, each with its own Engine built once from the same settings; findings
(spans, rules, masks and keyed fingerprints, never a value) come back. Everything stateful (the
vault, placeholders, redaction, the database) stays in the proxy's process.

A worker that dies (killed, out of memory) breaks the pool: it is replaced and the texts are
sent once more; a second death raises ``WorkerCrashed``, which the proxy treats as any
inspection failure (its fail mode decides). Small texts are classified in the calling thread:
sending them costs more than scanning them.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from egress_watch.classify import kingfisher
from egress_watch.classify.engine import Engine
from egress_watch.model import Finding, Segment
from egress_watch.settings import Settings

log = logging.getLogger(__name__)

WORKERS: int = min(2, os.cpu_count() or 1)
POOL_FROM_CHARS: int = 64 * 1024
"""Requests with fewer characters in all are classified in the proxy's process."""

ENGINE_SETTINGS: tuple[str, ...] = (
    "allow_fingerprints", "allow_rules", "allow_values", "allow_paths", "allow_baselines",
    "infra_domains", "marker_words", "marker_owners",
)  # fmt: skip
"""The settings Engine.configured reads; only these go to a worker (the policy tables do not
pickle, and a worker has no use for them). A field Engine.configured starts reading must be
added here: tests/unit/test_inspect_pool.py compares a pool's findings with the engine's."""


class WorkerCrashed(RuntimeError):
    """A classification worker died twice on the same request."""


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


def _start_worker(spec: EngineSpec) -> None:
    """Worker initializer: build the engine once; later tasks only classify."""
    global _engine
    os.environ[kingfisher.CACHE_ENV] = str(spec.rule_cache)
    settings = Settings(**dict(spec.settings))
    _engine = Engine.configured(spec.hmac_key, settings, spec.config_dir, strict_index=False)


def _classify(
    segments: Sequence[Segment], deadline: float | None
) -> tuple[list[Finding], bool, int]:
    """Worker task: the engine's classify_within (the monotonic clock is system-wide), and the
    worker's pid, so a test can tell which process did the work."""
    assert _engine is not None, "worker started without its engine"
    found, complete = _engine.classify_within(segments, deadline)
    return found, complete, os.getpid()


def _light(segments: Sequence[Segment]) -> list[Segment]:
    """Only what classification reads: a text and its path (JSON origins stay here)."""
    return [Segment("", s.text, path_hint=s.path_hint) for s in segments]


class ClassifierPool:
    """``classify_within`` like an Engine's, run in worker processes for large texts.

    Thread-safe: the proxy's inspector threads share one. Workers start on the first large
    request and are replaced when one dies; ``close`` stops them (a reload makes a new pool).
    """

    def __init__(self, engine: Engine, spec: EngineSpec, workers: int = WORKERS) -> None:
        self.engine = engine
        """The proxy's own engine, for small texts (same settings as the workers')."""
        self._spec = spec
        self._workers = workers
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None
        self._closed = False
        self.respawns = 0
        """Pools replaced after a worker died (for status and tests)."""

    def classify_within(
        self, segments: Sequence[Segment], deadline: float | None
    ) -> tuple[list[Finding], bool]:
        """Findings across ``segments`` and whether every one was scanned before ``deadline``.

        Raises:
            WorkerCrashed: a worker died on these texts, and again in a fresh pool.
        """
        if sum(len(s.text) for s in segments) < POOL_FROM_CHARS or self._closed:
            return self.engine.classify_within(segments, deadline)
        light = _light(segments)
        for attempt in (1, 2):
            executor = self._executor_now()
            try:
                found, complete, _pid = executor.submit(_classify, light, deadline).result()
            except BrokenProcessPool:
                self._replace(executor)
                log.error("egress-watch: a classification worker died; replaced (try %d)", attempt)
                if attempt == 2 or (deadline is not None and time.monotonic() >= deadline):
                    raise WorkerCrashed("classification worker died") from None
                continue
            return found, complete
        raise AssertionError("unreachable")  # pragma: no cover

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
            executor.shutdown(wait=False, cancel_futures=False)

    def _executor_now(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                context = multiprocessing.get_context("forkserver")
                context.set_forkserver_preload([__name__])
                self._executor = ProcessPoolExecutor(
                    self._workers, context, initializer=_start_worker, initargs=(self._spec,)
                )
            return self._executor

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        """Drop a broken pool (once, however many threads saw it break)."""
        with self._lock:
            if self._executor is not broken:
                return
            self._executor = None
            self.respawns += 1
        broken.shutdown(wait=False, cancel_futures=True)

"""Opt-in live verification (``[secrets] verify = true``): is a leaked value still active?

This SENDS THE VALUE TO ITS ISSUER (the provider's own API, through kingfisher's validators):
off by default. After a request has been forwarded, each newly seen secret fingerprint is
queued with the text around it; one background thread scans that text with kingfisher, asks
the issuer through ``kingfisher_sdk.Validator`` and hands the outcome (``active``,
``inactive`` or ``unknown``, and when) to ``record``. At most once per fingerprint per process
(and not at all when ``known`` says the store already has an outcome), rate-limited, with the
text held in memory only until its check is done and never written anywhere.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from egress_watch.classify import kingfisher
from egress_watch.errors import ConfigError
from egress_watch.model import Category, Finding

if TYPE_CHECKING:
    from kingfisher_sdk import Scanner

log = logging.getLogger(__name__)

ACTIVE, INACTIVE, UNKNOWN = "active", "inactive", "unknown"
_OUTCOMES: Final = {"verified_active": ACTIVE, "verified_inactive": INACTIVE}
CONTEXT: Final = 1024  # characters kept on each side: room for a key id beside its secret
QUEUE_MAX: Final = 256  # pending checks; beyond it new values wait for their next sighting


@dataclass(frozen=True, slots=True)
class Outcome:
    fingerprint: str
    outcome: str  # active, inactive, unknown
    checked_at: str  # ISO 8601 UTC


@dataclass(slots=True)
class _Job:
    fingerprint: str
    value: str  # held in memory until checked, then dropped with the job
    window: str


class Verifier:
    """A background checker; ``submit`` never blocks, ``close`` stops the thread."""

    def __init__(
        self,
        record: Callable[[Outcome], None],
        *,
        rule_files: Sequence[Path] = (),
        per_minute: int = 30,
        timeout: float = 10.0,
        allow_internal_ips: bool = False,
        known: Callable[[str], bool] = lambda fingerprint: False,
    ) -> None:
        """Args:
            record: stores an outcome (called on the worker thread).
            rule_files: extra kingfisher YAML rules (custom issuers) checked besides built-ins.
            per_minute: most checks started per minute.
            allow_internal_ips: let validators reach private/loopback addresses (tests, labs).
            known: whether the store already holds an outcome for a fingerprint.

        Raises:
            ConfigError: kingfisher or a rule file cannot be loaded.
        """
        from kingfisher_sdk import Validator

        self._record = record
        self._known = known
        self._interval = 60.0 / max(1, per_minute)
        self._scanners: list[Scanner] = [kingfisher.shared_scanner()]
        if rule_files:
            self._scanners.append(_custom_scanner(rule_files))
        self._validator = Validator(
            timeout=timeout, concurrency=2, allow_internal_ips=allow_internal_ips
        )
        self._seen: set[str] = set()
        self._lock = threading.Lock()
        self._jobs: queue.Queue[_Job | None] = queue.Queue(QUEUE_MAX)
        self._stop = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._thread = threading.Thread(target=self._run, name="egress-watch-verify", daemon=True)
        self._thread.start()

    def submit(self, text: str, findings: Sequence[Finding]) -> int:
        """Queue the secrets of ``text`` not checked yet; returns how many were queued."""
        queued = 0
        for finding in findings:
            if finding.category is not Category.SECRET:
                continue
            with self._lock:
                if finding.fingerprint in self._seen:
                    continue
                self._seen.add(finding.fingerprint)
            if self._known(finding.fingerprint):
                continue
            start, end = max(0, finding.start - CONTEXT), finding.end + CONTEXT
            job = _Job(finding.fingerprint, text[finding.start : finding.end], text[start:end])
            try:
                self._idle.clear()
                self._jobs.put_nowait(job)
                queued += 1
            except queue.Full:
                with self._lock:
                    self._seen.discard(finding.fingerprint)  # try again when seen again
                if self._jobs.empty():
                    self._idle.set()
        return queued

    def wait_idle(self, timeout: float) -> bool:
        """Until every queued check is done (tests, shutdown); False on timeout."""
        return self._idle.wait(timeout)

    def close(self) -> None:
        self._stop.set()
        with contextlib.suppress(queue.Full):
            self._jobs.put_nowait(None)
        self._thread.join(timeout=5)

    def _run(self) -> None:
        next_start = 0.0
        while not self._stop.is_set():
            job = self._jobs.get()
            if job is None:
                break
            delay = next_start - time.monotonic()
            if delay > 0 and self._stop.wait(delay):
                break
            next_start = time.monotonic() + self._interval
            try:
                outcome = self._check(job)
                self._record(Outcome(job.fingerprint, outcome, _now()))
            except Exception as error:  # a failed check must not stop the worker
                log.warning("egress-watch: verification failed: %s", type(error).__name__)
            finally:
                del job  # the value leaves memory with the job
                if self._jobs.empty():
                    self._idle.set()

    def _check(self, job: _Job) -> str:
        """The issuer's answer for ``job.value``: scan its window, validate the match."""
        outcomes = []
        for scanner in self._scanners:
            found = scanner.scan(job.window)
            mine = [f for f in found if f.visible and job.value in f.secret]
            if not mine:
                continue
            # Its own findings plus hidden helpers (the secret half of a pair), not the other
            # values around it: each of those is checked once, under its own fingerprint.
            batch = mine + [f for f in found if not f.visible]
            for result in self._validator.validate(batch, timeout=60):
                if result.finding.visible:
                    outcomes.append(_OUTCOMES.get(result.outcome, UNKNOWN))
        if ACTIVE in outcomes:
            return ACTIVE
        return INACTIVE if INACTIVE in outcomes else UNKNOWN


def _custom_scanner(rule_files: Sequence[Path]) -> Scanner:
    from kingfisher_sdk import Rules, Scanner

    try:
        rules = Rules([str(p) for p in rule_files], builtins=False, cache=False)
    except (OSError, RuntimeError, ValueError) as error:
        names = ", ".join(str(p) for p in rule_files)
        raise ConfigError(f"[secrets] verify_rules: cannot load {names}: {error}") from None
    return Scanner(rules, base64=False)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def describe(outcome: dict[str, Any] | None) -> str:
    """``active (checked 2026-12-06T21:40:00+00:00)`` for reports; empty when never checked."""
    if not outcome or not outcome.get("outcome"):
        return ""
    return f"{outcome['outcome']} (checked {outcome.get('checked_at', '?')})"

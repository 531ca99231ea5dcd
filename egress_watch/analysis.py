"""The pure, CPU-heavy part of an inspection: decode, extract, classify, find the anchor.

Everything here is a function of the request's bytes and the engine, with no state of the
proxy's (vault, placeholders, database), so it can run in a worker process
(egress_watch.capture.worker_pool) as well as on the proxy's own thread. The rest of an inspection
(policy, naming, redaction, the event) stays in egress_watch.pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass

from egress_watch.classify.engine import Engine
from egress_watch.decide.conversation import conversation_anchor
from egress_watch.decoding.encoding import decode_body
from egress_watch.extract import Extraction, extract_body
from egress_watch.model import Capture, Finding


@dataclass(frozen=True, slots=True)
class Job:
    """What analysing one request needs (picklable: no headers beyond the two it reads)."""

    body: bytes
    family: str
    content_encoding: str | None = None
    content_type: str | None = None
    uninspected_reason: str | None = None
    """Set when the body was not captured whole: nothing is decoded or scanned."""
    max_body_bytes: int = 32 * 2**20
    deadline: float | None = None
    """``time.monotonic()`` past which classification stops (the clock is system-wide)."""
    waited_out: bool = False
    """The request waited out its whole budget before an inspector was free, and nothing
    found in it could be acted on (the pipeline sets it only then): it is not read at all, so
    a flood of large bodies sheds its excess at almost no cost (uninspected, "time budget")."""

    @classmethod
    def of(
        cls,
        capture: Capture,
        family: str,
        max_body_bytes: int,
        deadline: float | None,
        waited_out: bool = False,
    ) -> Job:
        return cls(
            capture.body or b"",
            family,
            capture.header("content-encoding"),
            capture.header("content-type"),
            capture.uninspected_reason,
            max_body_bytes,
            deadline,
            waited_out,
        )


@dataclass(frozen=True, slots=True)
class Analysis:
    """A request's texts, what the engine found in them, and its conversation anchor."""

    extraction: Extraction
    found: list[Finding]
    complete: bool
    """False when the deadline passed before every text was scanned."""
    anchor: str | None
    """What names the body's conversation (decide.conversation), None if it does not."""


def analyse(engine: Engine, job: Job) -> Analysis:
    """Decode and extract ``job``'s body, classify its texts within the deadline."""
    if job.waited_out:
        return Analysis(Extraction(()), [], False, None)
    extraction = _extract(job)
    found, complete = engine.classify_within(extraction.segments, job.deadline)
    return Analysis(extraction, found, complete, conversation_anchor(extraction.document))


def _extract(job: Job) -> Extraction:
    if job.uninspected_reason:
        return Extraction((), uninspected_reason=job.uninspected_reason)
    decoded = decode_body(job.body, job.content_encoding, job.max_body_bytes)
    if decoded.body is None:
        return Extraction((), uninspected_reason=decoded.reason)
    return extract_body(decoded.body, job.family, job.content_type)

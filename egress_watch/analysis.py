"""The pure, CPU-heavy part of an inspection: decode, extract, classify, find the anchor.

Everything here is a function of the request's bytes and the engine, with no state of the
proxy's (vault, placeholders, database), so it can run in a worker process
(egress_watch.inspect_pool) as well as on the proxy's own thread. The rest of an inspection
(policy, naming, redaction, the event) stays in egress_watch.pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass

from egress_watch.classify.engine import Engine
from egress_watch.conversation import conversation_anchor
from egress_watch.decode import decode_body
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
    skip_classification: bool = False
    """The request waited out its whole budget before an inspector was free."""

    @classmethod
    def of(
        cls,
        capture: Capture,
        family: str,
        max_body_bytes: int,
        deadline: float | None,
        skip: bool = False,
    ) -> Job:
        return cls(
            capture.body or b"",
            family,
            capture.header("content-encoding"),
            capture.header("content-type"),
            capture.uninspected_reason,
            max_body_bytes,
            deadline,
            skip,
        )


@dataclass(frozen=True, slots=True)
class Analysis:
    """A request's texts, what the engine found in them, and its conversation anchor."""

    extraction: Extraction
    found: list[Finding]
    complete: bool
    """False when the deadline passed before every text was scanned."""
    anchor: str | None
    """What names the body's conversation (egress_watch.conversation), None if it does not."""


def analyse(engine: Engine, job: Job) -> Analysis:
    """Decode and extract ``job``'s body, classify its texts within the deadline."""
    extraction = _extract(job)
    found: list[Finding] = []
    complete = False
    if not job.skip_classification:
        found, complete = engine.classify_within(extraction.segments, job.deadline)
    return Analysis(extraction, found, complete, conversation_anchor(extraction.document))


def _extract(job: Job) -> Extraction:
    if job.uninspected_reason:
        return Extraction((), uninspected_reason=job.uninspected_reason)
    decoded = decode_body(job.body, job.content_encoding, job.max_body_bytes)
    if decoded.body is None:
        return Extraction((), uninspected_reason=decoded.reason)
    return extract_body(decoded.body, job.family, job.content_type)

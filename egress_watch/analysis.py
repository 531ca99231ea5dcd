"""The pure, CPU-heavy part of an inspection: decode, extract, classify, find the anchor.

Everything here is a function of the request's bytes and the engine, with no state of the
proxy's (vault, placeholders, database), so it can run in a worker process
(egress_watch.capture.worker_pool) as well as on the proxy's own thread. The rest of an inspection
(policy, naming, redaction, the event) stays in egress_watch.pipeline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from egress_watch.classify.engine import Engine, Part, is_chunked
from egress_watch.decide.conversation import conversation_anchor
from egress_watch.decoding.encoding import decode_body
from egress_watch.extract import Extraction, extract_body
from egress_watch.model import Capture, Category, Finding, Segment


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
    part: Part = "all"
    """Which part of the classification runs (classify.engine.Part): two workers can share one
    body, and ``merge_parts`` joins what they found."""

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
    found, complete = engine.classify_within(extraction.segments, job.deadline, job.part)
    anchor = None if job.part == "code" else conversation_anchor(extraction.document)
    return Analysis(extraction, found, complete, anchor)


def merge_parts(scanned: Analysis, coded: Analysis) -> Analysis:
    """One analysis from its "scan" part and its "code" part, as the unsplit one would be.

    Per segment the unsplit scan lists a text's code findings after its other findings, except
    in a chunked text, whose findings are sorted by start (stably, so at an equal start the
    code finding still comes last). Complete only when both parts are.
    """
    found = _merge_findings(scanned.extraction.segments, scanned.found, coded.found)
    complete = scanned.complete and coded.complete
    return Analysis(scanned.extraction, found, complete, scanned.anchor)


def _merge_findings(
    segments: Sequence[Segment], scanned: list[Finding], coded: list[Finding]
) -> list[Finding]:
    by_segment: dict[int, list[Finding]] = {}
    for finding in scanned:
        by_segment.setdefault(finding.segment_index, []).append(finding)
    for finding in coded:
        assert finding.category is Category.PROPRIETARY, "a code part found more than code"
        by_segment.setdefault(finding.segment_index, []).append(finding)
    merged: list[Finding] = []
    for index in sorted(by_segment):
        found = by_segment[index]
        if index < len(segments) and is_chunked(segments[index].text):
            found.sort(key=lambda f: f.start)
        merged += found
    return merged


def _extract(job: Job) -> Extraction:
    if job.uninspected_reason:
        return Extraction((), uninspected_reason=job.uninspected_reason)
    decoded = decode_body(job.body, job.content_encoding, job.max_body_bytes)
    if decoded.body is None:
        return Extraction((), uninspected_reason=decoded.reason)
    return extract_body(decoded.body, job.family, job.content_type)

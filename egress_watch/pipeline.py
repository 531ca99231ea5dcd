"""route → decode → extract → classify → decide: one request in, one storable Event out (no I/O)."""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import unquote

from egress_watch.analysis import Analysis, Job, analyse
from egress_watch.catalog.facts import UNKNOWN, Facts
from egress_watch.catalog.services import Catalog
from egress_watch.classify.boilerplate import KNOWN, without_boilerplate
from egress_watch.classify.engine import Engine
from egress_watch.decide.conversation import conversation_key
from egress_watch.decide.naming import Naming
from egress_watch.decide.outcome import mark_stopped
from egress_watch.decide.policy import Level, PolicyTable, decide, enforceable
from egress_watch.decide.restore_policy import RestorePolicy
from egress_watch.decide.rewrite import Namer, placeholder, redacted_body
from egress_watch.decide.standin import is_stand_in
from egress_watch.extract import Extraction
from egress_watch.extract.responses import call_id_of
from egress_watch.model import (
    Action,
    Capture,
    Decision,
    Event,
    Finding,
    Mode,
    ProcessInfo,
    Route,
    Severity,
    utc_iso,
)


@dataclass(frozen=True, slots=True)
class Inspection:
    """Everything the proxy needs to act on a request and record it."""

    route: Route
    extraction: Extraction
    decision: Decision
    event: Event
    rewritten_body: bytes | None = None
    """The decoded body with the decision's findings redacted, when the action is redact."""
    alerts: tuple[Finding, ...] = ()
    """Findings at alert level or above (not allowed): the user is notified of these."""
    conversation: str | None = None
    """The vault's key for the request's conversation (placeholders to restore in answers)."""


@dataclass(frozen=True, slots=True)
class Policy:
    """The parts of Settings the pipeline needs."""

    mode: Mode = Mode.MONITOR
    block_severity: Severity = Severity.HIGH
    max_body_bytes: int = 32 * 2**20
    table: PolicyTable = dataclasses.field(default_factory=PolicyTable)
    monitor_only: bool = False
    """Cap every finding at alert: the user asked for ``--mode monitor`` explicitly."""
    restore: RestorePolicy = dataclasses.field(default_factory=RestorePolicy)
    """Whether redacted values are kept (in memory) to restore them in the answers."""
    inspect_budget_ms: int | None = 3000
    """Classification stops past this; the request is then uninspected ("time budget").
    Where findings act (``acts_on_findings``) it stretches to ``ACTING_BUDGET_FACTOR`` times
    as long (``reading_budget_ms``)."""

    def acts_on_findings(self) -> bool:
        """Whether anything found in a body could redact or block it: a redact or block mode,
        or a ``[policy]`` entry at redact or above. Only when nothing could may a request that
        waited out its budget go unread (monitor mode sheds load, redact and block never do)."""
        if self.monitor_only:
            return False
        if self.mode is not Mode.MONITOR:
            return True
        scopes = [self.table.base, *self.table.services.values()]
        scopes += [rule.scope for rule in self.table.jurisdictions.values()]
        levels = [level for scope in scopes for level in scope.by_severity.values()]
        levels += [level for scope in scopes for level in scope.by_category.values()]
        return any(level >= Level.REDACT for level in levels)

    def reading_budget_ms(self) -> int | None:
        """How long one request may be classified before it counts as uninspected.

        Monitor mode keeps ``inspect_budget_ms``: an overloaded machine records what it could
        not read and moves on. Where a finding would redact or block, stopping early would
        forward unread text in redact mode (a key past the first chunk leaves) and block an
        innocent request in block mode, only because the machine was busy; so there the body
        is read to its end, up to ``ACTING_BUDGET_FACTOR`` times the budget (30 s by default),
        and only past that does ``[policy] uninspected`` decide."""
        if self.inspect_budget_ms is None:
            return None
        if self.acts_on_findings():
            return self.inspect_budget_ms * ACTING_BUDGET_FACTOR
        return self.inspect_budget_ms


class Analyser(Protocol):
    """What runs the pure part of an inspection: ``analyse`` here, or a pool of worker
    processes running it (egress_watch.capture.worker_pool)."""

    def analyse(self, job: Job) -> Analysis: ...


ACTING_BUDGET_FACTOR = 10
"""How many times ``inspect_budget_ms`` a request may be read where findings act (redact or
block): latency on an overloaded machine rather than unread text forwarded or a false block."""

TIME_BUDGET = "time budget"
"""The uninspected reason of a request whose classification ran out of its time budget."""


def _with_places(
    findings: list[Finding], extraction: Extraction, call_hints: Mapping[str, str] | None = None
) -> tuple[Finding, ...]:
    """Copy each finding's segment role and message index onto it, for storage.

    ``call_hints`` (call_id -> file) name the file of a tool result whose call is not in this
    body (a Responses WebSocket message after the first).
    """
    placed = []
    for finding in findings:
        segment = extraction.segments[finding.segment_index]
        hint = segment.path_hint
        if hint is None and call_hints and segment.role == "tool_result":
            call_id = call_id_of(extraction.document, segment.origin)
            hint = call_hints.get(call_id) if call_id else None
        placed.append(
            dataclasses.replace(
                finding, role=segment.role, message_index=segment.message_index, path_hint=hint
            )
        )
    return tuple(placed)


class Inspector:
    """Holds the catalog, engine and policy; ``inspect`` is safe to call from worker threads."""

    def __init__(
        self,
        catalog: Catalog,
        engine: Engine,
        policy: Policy,
        naming: Naming | None = None,
        analyser: Analyser | None = None,
    ) -> None:
        self.catalog = catalog
        self.engine = engine
        self.analyser = analyser
        """Decodes, extracts and classifies in worker processes; None: on the calling thread."""
        self.policy = policy
        self.naming = naming
        """Stable placeholders per conversation; None: plain ones, nothing kept (offline scans)."""
        self.boilerplate = {
            tool: frozenset(engine.fingerprint(v) for v in values) for tool, values in KNOWN.items()
        }

    def route(self, host: str, path: str) -> Route | None:
        return self.catalog.route(host, path)

    def inspect(
        self,
        capture: Capture,
        route: Route,
        now: datetime | None = None,
        allowed: Collection[str] = (),
        process: ProcessInfo | None = None,
        anchor: str | None = None,
        fallback: str | None = None,
        call_hints: Mapping[str, str] | None = None,
        *,
        received: float | None = None,
    ) -> Inspection:
        """Inspect one captured request that the catalog routed to ``route``.

        ``allowed`` fingerprints (triage) are recorded but never acted on. ``anchor`` names the
        conversation outright (a WebSocket connection); else it is read from the body, and
        ``fallback`` (the request's own id) stands in when the body does not say.
        ``call_hints`` are the files earlier tool calls of the same socket named.
        ``received`` (``time.monotonic()``) is when the proxy had the request: the time budget
        counts from then, so time spent waiting for a free inspector counts too.
        """
        policy = self.policy
        budget = policy.reading_budget_ms()
        start = time.monotonic() if received is None else received
        deadline = None if budget is None else start + budget / 1000
        # Queued for a free inspector its whole budget (a flood of large bodies): not scanned,
        # but only where nothing found could be acted on. Where it could, the first chunk is
        # still scanned, so a key at the top of a late request is redacted or blocked.
        waited_out = (
            not policy.acts_on_findings()
            and received is not None
            and deadline is not None
            and time.monotonic() >= deadline
        )
        job = Job.of(capture, route.family, policy.max_body_bytes, deadline, waited_out)
        analysed = (
            analyse(self.engine, job) if self.analyser is None else self.analyser.analyse(job)
        )
        extraction, found, complete = analysed.extraction, analysed.found, analysed.complete
        if not complete:  # what was found still counts; the rest of the body went unread
            extraction = dataclasses.replace(extraction, uninspected_reason=TIME_BUDGET)
        tool = process.tool_or_name if process else None
        found = without_boilerplate(found, extraction.segments, self.boilerplate, tool)
        findings = _with_places(self._not_ours(found, extraction), extraction, call_hints)
        anchor = anchor or analysed.anchor
        stored_key = self._conversation(route, anchor)
        facts = self.facts(route, capture.host)
        verdict = decide(
            findings,
            route.service_id,
            policy.table,
            policy.mode,
            policy.block_severity,
            allowed,
            monitor_only=policy.monitor_only,
            uninspected=extraction.uninspected_reason,
            facts=facts,
        )
        decision = enforceable(verdict.decision, extraction.rewritable, capture.streamed)
        event = Event(
            timestamp=utc_iso(now or datetime.now(UTC)),
            service=route.service_id,
            family=route.family,
            host=capture.host,
            method=capture.method,
            path=capture.path.split("?", 1)[0],
            bytes_out=len(capture.body or b""),
            action=decision.action,
            findings=mark_stopped(findings, decision),
            segment_count=len(extraction.segments),
            uninspected_reason=extraction.uninspected_reason,
            client=_client(capture),
            model=model_of(extraction.document) or model_from_path(capture.path),
            conversation_key=stored_key,
            process=process,
            jurisdictions=facts.jurisdictions,
            region=facts.region,
        )
        conversation = stored_key or self._conversation(route, fallback and "request:" + fallback)
        rewritten = None
        if decision.action is Action.REDACT:
            name: Namer = placeholder
            if self.naming is not None and conversation is not None:
                keep = policy.restore.restores(route.service_id)
                name = self.naming.namer(conversation, keep)
            rewritten = redacted_body(
                extraction.document, extraction.segments, decision.findings, extraction.is_json,
                extraction.charset, name,
            )  # fmt: skip
        return Inspection(
            route, extraction, decision, event, rewritten, verdict.alerts, conversation
        )

    def _conversation(self, route: Route, anchor: str | None) -> str | None:
        if self.naming is None or anchor is None:
            return None
        key = conversation_key(self.naming.key, route.service_id, anchor)
        return self.naming.vault.resolve(key)  # a continued Responses conversation

    def _not_ours(self, findings: list[Finding], extraction: Extraction) -> list[Finding]:
        """Drop our own stand-ins (a restored answer quoted back after a restart, say)."""
        if self.naming is None or not findings:
            return findings
        key, segments = self.naming.key, extraction.segments
        return [
            f for f in findings
            if not is_stand_in(key, segments[f.segment_index].text[f.start : f.end].strip())
        ]  # fmt: skip

    def facts(self, route: Route, host: str) -> Facts:
        """Who operates the routed service's ``host``, and where (the catalog's facts)."""
        return self.catalog.facts_of(route.service_id, host)


def model_of(document: Any) -> str | None:
    """The model a JSON request asks for, when it says so at the top level."""
    if isinstance(document, dict) and isinstance(document.get("model"), str):
        return str(document["model"])[:200]
    return None


_MODEL_IN_PATH = re.compile(r"/models/([\w.@-]{1,200})(?::[A-Za-z]+)?(?:[/?]|$)")


def model_from_path(path: str) -> str | None:
    """The model Gemini and Vertex name in the path: ``…/models/gemini-2.5-pro:generateContent``
    (also ``publishers/google/models/…`` and Bedrock's ``/model/<id>/invoke``)."""
    found = _MODEL_IN_PATH.search(path.split("?", 1)[0] + "/")
    if found:
        return found.group(1)
    bedrock = re.search(r"/model/([^/]{1,200})/(?:invoke|converse)", path)
    return unquote(bedrock.group(1)) if bedrock else None


def _client(capture: Capture) -> str | None:
    if capture.client_address is None:
        return None
    host, port = capture.client_address[:2]
    return f"{host}:{port}"


def error_event(
    capture: Capture,
    route: Route,
    error: BaseException,
    action: Action,
    process: ProcessInfo | None = None,
    facts: Facts = UNKNOWN,
) -> Event:
    """The event recorded when inspection itself failed: names the error type, never the data."""
    return Event(
        timestamp=utc_iso(datetime.now(UTC)),
        service=route.service_id,
        family=route.family,
        host=capture.host,
        method=capture.method,
        path=capture.path.split("?", 1)[0],
        bytes_out=len(capture.body or b""),
        action=action,
        uninspected_reason="internal error during inspection",
        error=type(error).__name__,
        client=_client(capture),
        process=process,
        jurisdictions=facts.jurisdictions,
        region=facts.region if facts is not UNKNOWN else None,
    )

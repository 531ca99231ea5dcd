"""The mitmproxy addon: capture AI-service requests, inspect them, record, then forward or block.

The hook stays thin: classification runs in a worker thread and the database write goes
through the single writer, so mitmproxy's event loop never waits on either.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from mitmproxy import connection, ctx, http, tls
from mitmproxy.addonmanager import Loader
from mitmproxy.exceptions import OptionsError

from egress_watch.capture.answers import Answers
from egress_watch.capture.attribution import ConnectionProcesses
from egress_watch.capture.framing import StreamFraming, frame_buffered_body
from egress_watch.capture.streams import BodyTee, is_streaming_rpc
from egress_watch.capture.tls_identity import sni_outside_catalog
from egress_watch.capture.upstream import upstream_outcome
from egress_watch.capture.worker_pool import AnalysisPool, EngineSpec
from egress_watch.catalog.discovery import ai_suspicion
from egress_watch.catalog.facts import UNKNOWN, Facts
from egress_watch.catalog.services import catalog_with
from egress_watch.classify.engine import Engine
from egress_watch.config.settings import Settings, load_settings
from egress_watch.decide.naming import Naming
from egress_watch.decide.policy import Level, destination
from egress_watch.decide.responses import LocalAnswer, local_answer
from egress_watch.decide.vault import Vault
from egress_watch.errors import EgressWatchError
from egress_watch.extract.responses import server_call_hint
from egress_watch.model import (
    Action,
    Capture,
    FailMode,
    Finding,
    HostSighting,
    Mode,
    ProcessInfo,
    Route,
    utc_iso,
)
from egress_watch.paths import HomePaths, resolve_home
from egress_watch.pipeline import Inspection, Inspector, Policy, error_event
from egress_watch.store.spool import SpoolFull
from egress_watch.store.triage import AllowlistWatcher
from egress_watch.workstation.ca import CANARY_HOST
from egress_watch.workstation.demo import DEMO_PATH, DEMO_ROUTE
from egress_watch.workstation.history_health import degraded_note, history_fields, write_state_file
from egress_watch.workstation.home import load_hmac_key, prepare_home
from egress_watch.workstation.notify import Notifier

log = logging.getLogger(__name__)

# Never copied into a Capture, so never reach a classifier's output, a log line or the store.
CREDENTIAL_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "x-api-key",
        "api-key",
        "x-goog-api-key",
        "openai-api-key",
        "anthropic-api-key",
        "x-amz-security-token",
        "sec-websocket-protocol",
    }
)
STATE_INTERVAL_S = 2.0
TEE_KEY = "egress_watch_tee"
EVENT_KEY = "egress_watch_event"
"""flow.metadata key of (event id, Event) of a forwarded request, for its upstream outcome."""
LOST = -1
"""The event id of a request whose event neither the history nor the spool could take."""


def capture_from_flow(flow: http.HTTPFlow, body: bytes | None = None) -> Capture:
    """Copy what the pipeline needs out of a flow, leaving credentials behind.

    ``body`` replaces the flow's content for requests that were streamed through a BodyTee.
    """
    request = flow.request
    headers = tuple(
        (k, v) for k, v in request.headers.items(multi=True) if k.lower() not in CREDENTIAL_HEADERS
    )
    tee = flow.metadata.get(TEE_KEY)
    reason = None
    if isinstance(tee, BodyTee):
        body = tee.body()
        if body is None:
            reason = f"streamed body of {tee.size} bytes exceeded the inspection limit"
    elif request.raw_content is None:
        reason = "request body was streamed, not buffered"
    return Capture(
        method=request.method,
        scheme=request.scheme,
        host=request.host,
        port=request.port,
        path=request.path,
        headers=headers,
        body=body if body is not None else request.raw_content,
        client_address=flow.client_conn.peername,
        uninspected_reason=reason,
        streamed=isinstance(tee, BodyTee),
    )


@dataclass
class Stats:
    """Counters the daemon publishes for ``egress-watch status``."""

    started_at: float = field(default_factory=time.time)
    requests: int = 0
    events: int = 0
    errors: int = 0
    blocked: int = 0
    redacted: int = 0
    uninspected: int = 0
    failed: int = 0
    """Requests forwarded whose upstream failed (down, reset) before answering."""


INSPECT_THREADS = 4
"""Requests inspected at once: one large body never holds up the others. Large bodies are
analysed in worker processes (inspect_pool), so these threads mostly wait; two per worker keep
each worker fed while the event loop (TLS, reading and forwarding) keeps its share of the GIL."""


class EgressWatch:
    """mitmproxy addon; options are declared in ``load`` and applied whole in ``configure``."""

    def __init__(self, home: str = "", mode: str = "", fail_mode: str = "") -> None:
        # Defaults for the options, so the first configure() already uses the right home
        # (and never creates the platform default home when another was asked for).
        self._defaults = {"home": home, "mode": mode, "fail_mode": fail_mode}
        self.inspector: Inspector | None = None
        self.writer: Any = None  # EventWriter; imported lazily so `-s` loads stay cheap
        self.settings = Settings()
        self.paths: HomePaths | None = None
        self.stats = Stats()
        self._state_task: asyncio.Task[None] | None = None
        self.processes: ConnectionProcesses | None = None
        self.notifier = Notifier()
        self.allowlist: AllowlistWatcher | None = None
        self._allowlist_task: asyncio.Task[None] | None = None
        self.vault = Vault()  # survives a reconfigure; a restart empties it
        self.stream_framing = StreamFraming()
        self.answers: Answers | None = None
        self._history_alerted = False
        self.verifier: Any = None  # Verifier when [secrets] verify is on
        self.pool: AnalysisPool | None = None  # large bodies are analysed in its workers
        # Few inspectors: requests wait here, where the time budget sees them.
        self._inspectors = ThreadPoolExecutor(INSPECT_THREADS, "egress-watch-inspect")

    def load(self, loader: Loader) -> None:
        loader.add_option(
            name="egress_watch_home",
            typespec=str,
            default=self._defaults["home"],
            help="egress-watch data home (config, history, keys). Empty: $EGRESS_WATCH_HOME or "
            "the platform's user data directory.",
        )
        loader.add_option(
            name="egress_watch_mode",
            typespec=str,
            default=self._defaults["mode"],
            help="Override the policy mode of config.toml: monitor, redact or block. Empty: use "
            "the config.",
        )
        loader.add_option(
            name="egress_watch_fail_mode",
            typespec=str,
            default=self._defaults["fail_mode"],
            help="What an internal error does to a request: open forwards it, closed answers with "
            "an error. Empty: open in monitor mode, closed in redact and block mode.",
        )

    def configure(self, updated: set[str]) -> None:
        if self.inspector is not None and not any(k.startswith("egress_watch_") for k in updated):
            return
        try:
            self._setup(ctx.options.egress_watch_home or None)
        except (EgressWatchError, ValueError) as error:
            raise OptionsError(str(error)) from None

    def _setup(self, home: str | None) -> None:
        from egress_watch.store.writer import EventWriter, Retention

        paths = HomePaths(resolve_home(home))
        prepare_home(paths)
        settings = load_settings(paths.config)
        overrides: dict[str, Any] = {}
        if ctx.options.egress_watch_mode:
            overrides["mode"] = Mode(ctx.options.egress_watch_mode)
        if ctx.options.egress_watch_fail_mode:
            overrides["fail_mode_setting"] = FailMode(ctx.options.egress_watch_fail_mode)
        settings = settings.replace(**overrides) if overrides else settings
        key = load_hmac_key(paths)
        engine = Engine.configured(key, settings, paths.config.parent, strict_index=False)
        policy = Policy(
            settings.mode,
            settings.block_severity,
            settings.max_body_mib * 2**20,
            settings.policy,
            # `--mode monitor` typed by the user: record and alert, never redact or block.
            monitor_only=ctx.options.egress_watch_mode == Mode.MONITOR.value,
            restore=settings.restore,
            inspect_budget_ms=settings.inspect_budget_ms,
        )
        writer = EventWriter(paths.database, retention=Retention(days=settings.retention_days))
        if self.writer is not None:
            self.writer.close()
        if self.pool is not None:  # a reload: new workers with the new settings
            self.pool.close()
        self.paths, self.settings, self.writer = paths, settings, writer
        naming = Naming(key, self.vault, settings.restore.redact_style)
        self.pool = AnalysisPool(engine, EngineSpec.of(key, settings, paths.config.parent))
        self.inspector = Inspector(
            catalog_with(settings.services), engine, policy, naming, self.pool
        )
        self.answers = Answers(naming, writer)
        self._start_verifier(paths, settings)
        self.processes = ConnectionProcesses(engine.classify_text)
        self.allowlist = AllowlistWatcher(paths.database)
        self.allowlist.refresh()
        if self._allowlist_task is not None:  # reconfigured while running: watch the new one
            self._allowlist_task.cancel()
            self._allowlist_task = asyncio.get_running_loop().create_task(self.allowlist.watch())
        log.info("egress-watch: recording to %s (mode %s)", paths.database, settings.mode.value)

    def _start_verifier(self, paths: HomePaths, settings: Settings) -> None:
        """``[secrets] verify``: a background checker that asks issuers about new secrets."""
        from egress_watch.classify.verify import Verifier
        from egress_watch.store.verifications import VerificationStore

        if self.verifier is not None:
            self.verifier.close()
            self.verifier = None
        if not settings.verify_secrets:
            return
        store = VerificationStore(paths.database)
        base = paths.config.parent
        self.verifier = Verifier(
            store.record,
            rule_files=[base / name for name in settings.verify_rules],
            per_minute=settings.verify_per_minute,
            allow_internal_ips=settings.verify_private_networks,
            known=store.known,
        )
        log.warning("egress-watch: [secrets] verify is on: new secrets are sent to their issuer")

    def running(self) -> None:
        self._write_state()
        loop = asyncio.get_running_loop()
        self._state_task = loop.create_task(self._publish_state())
        if self.allowlist is not None:
            self._allowlist_task = loop.create_task(self.allowlist.watch())

    def done(self) -> None:
        for task in (self._state_task, self._allowlist_task):
            if task is not None:
                task.cancel()
        if self.writer is not None:
            self.writer.close()
            self.writer = None
        if self.verifier is not None:
            self.verifier.close()
            self.verifier = None
        if self.pool is not None:
            self.pool.close()
        if self.paths is not None:
            self.paths.state.unlink(missing_ok=True)

    def route_of(self, flow: http.HTTPFlow) -> Route | None:
        """Route on the connection's destination, and on the Host header as a second chance."""
        assert self.inspector is not None
        request = flow.request
        if request.pretty_host == CANARY_HOST and request.path.startswith(DEMO_PATH):
            return DEMO_ROUTE  # `egress-watch demo`: inspected and recorded, answered locally
        return self.inspector.route(request.host, request.path) or self.inspector.route(
            request.pretty_host, request.path
        )

    def client_connected(self, client: connection.Client) -> None:
        """Look the client's process up as soon as it connects, while it surely still runs."""
        if self.processes is not None:
            self.processes.start(client.id, client.peername, client.sockname)

    def client_disconnected(self, client: connection.Client) -> None:
        self.stream_framing.forget(client)
        if self.processes is not None:
            self.processes.forget(client.id)

    def tls_established_server(self, data: tls.TlsData) -> None:
        """The upstream's protocol (ALPN) is known now: frame streamed bodies waiting for it."""
        self.stream_framing.upstream_ready(data.context.client, data.context.server)

    async def process_of(self, flow: http.HTTPFlow) -> ProcessInfo | None:
        """The local process behind the flow's client connection (cached per connection)."""
        if self.processes is None:
            return None
        client = flow.client_conn
        return await self.processes.get(client.id, client.peername, client.sockname)

    async def http_connect(self, flow: http.HTTPFlow) -> None:
        """Count every tunnel by host, decrypted or passed through, for shadow-AI discovery.

        CONNECT names the real destination in regular and upstream mode alike, before mitmproxy
        decides whether to decrypt, so passed-through hosts are counted too.
        """
        if self.inspector is None or self.writer is None:
            return
        host = flow.request.host.lower()
        decrypted = self.inspector.route(host, "/") is not None
        reason = None if decrypted else ai_suspicion(host, self.inspector.catalog)
        process = await self.process_of(flow)
        now = utc_iso(datetime.now(UTC))
        name = process.tool_or_name if process else None
        self.writer.record_host(HostSighting(host, now, decrypted, reason, name))

    def tls_clienthello(self, data: tls.ClientHelloData) -> None:
        """Never decrypt a session whose SNI names a host outside the catalog, whatever the
        CONNECT line said: it is passed through untouched and counted as a sighting."""
        address = data.context.server.address
        port = address[1] if address else 443
        sni = data.client_hello.sni
        if not sni_outside_catalog(sni, port, ctx.options.allow_hosts):
            return
        data.ignore_connection = True
        connect_host = address[0] if address else "?"
        log.warning("egress-watch: TLS name %s differs from CONNECT %s: passed through, "
                    "not decrypted", sni, connect_host)  # fmt: skip
        if self.writer is not None and self.inspector is not None and sni:
            reason = ai_suspicion(sni.lower(), self.inspector.catalog)
            now = utc_iso(datetime.now(UTC))
            self.writer.record_host(HostSighting(sni.lower(), now, False, reason, None))

    async def requestheaders(self, flow: http.HTTPFlow) -> None:
        """Stream RPC bodies that may stay open (Cursor, Windsurf) instead of stalling them.

        A streamed body cannot be stopped once it flows, so a destination rule that blocks
        (``[policy.jurisdictions]``, ``training``) is applied here, on the headers alone.
        """
        if self.inspector is None or not is_streaming_rpc(flow.request.headers.get("content-type")):
            return
        route = self.route_of(flow)
        if route is None:
            return
        if await self._blocked_by_destination(flow, route):
            return
        tee = BodyTee(self.settings.max_body_mib * 2**20)
        flow.metadata[TEE_KEY] = tee
        flow.request.stream = tee
        self.stream_framing.streamed(flow)  # an HTTP/1.1 upstream needs chunks

    async def _blocked_by_destination(self, flow: http.HTTPFlow, route: Route) -> bool:
        """Answer a streamed request locally when where it goes is blocked; record it."""
        assert self.inspector is not None
        policy = self.inspector.policy
        _why, level = destination(
            route.service_id, self.inspector.facts(route, flow.request.host), policy.table
        )
        if level is not Level.BLOCK or policy.monitor_only or self.writer is None:
            return False
        capture = dataclasses.replace(
            capture_from_flow(flow, b""),
            uninspected_reason="blocked by a destination rule before its body was read",
        )
        self.stats.requests += 1
        inspected = await self._inspect_and_record(flow, capture, route)
        if inspected is not None:
            self._apply(flow, *inspected)
        return flow.response is not None

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        """Responses are never inspected: stream them, so tokens (SSE) reach the tool at once;
        an answer to a redacted conversation streams through its restorer."""
        if flow.response is None or self.inspector is None or not self.route_of(flow):
            return
        if self.answers is None or not self.answers.responseheaders(flow):
            flow.response.stream = True

    def response(self, flow: http.HTTPFlow) -> None:
        if self.answers is not None:
            self.answers.response(flow)

    async def request(self, flow: http.HTTPFlow) -> None:
        if flow.response is not None or flow.error is not None or not flow.live:
            return
        if flow.request.stream is False:  # read whole: an HTTP/1.1 upstream needs its length
            frame_buffered_body(flow.request)
        if self.inspector is None or self.writer is None:
            return
        route = self.route_of(flow)
        if route is None:
            return
        self.stats.requests += 1
        capture = capture_from_flow(flow)
        inspected = await self._inspect_and_record(flow, capture, route, fallback=flow.id)
        if inspected is not None:
            self._apply(flow, *inspected)
            self._verify(inspected[0])

    async def websocket_message(self, flow: http.HTTPFlow) -> None:
        """Each text message a client sends on an AI service's WebSocket is one event."""
        if self.inspector is None or self.writer is None or flow.websocket is None:
            return
        message = flow.websocket.messages[-1]
        if not message.from_client and self.answers is not None:
            self.answers.server_message(flow, message)
        if message.dropped:
            return
        route = self.route_of(flow)
        if route is None:
            return
        if not message.from_client:
            _remember_call_hint(flow, message)
            return
        self.stats.requests += 1
        capture = dataclasses.replace(
            capture_from_flow(flow, message.content),
            method="WS",
            headers=(),  # the handshake's headers say nothing about this message's body
            uninspected_reason=None if message.is_text else "binary WebSocket message",
            streamed=False,
        )
        inspected = await self._inspect_and_record(flow, capture, route, anchor="ws:" + flow.id)
        if inspected is None:
            return
        inspection, event_id = inspected
        if self.answers is not None and inspection.conversation is not None:
            self.answers.client_message(flow, route.service_id, event_id)
        self._count(inspection, event_id)
        decision = inspection.decision
        if decision.action is Action.REDACT and inspection.rewritten_body is not None:
            self.stats.redacted += 1
            message.content = inspection.rewritten_body
        elif decision.action is Action.BLOCK:
            self.stats.blocked += 1
            message.drop()
            # The Responses WebSocket's error event: a 400 is final for Codex, not retried.
            notice = {"type": "error", "status": 400, "error": {
                "type": "invalid_request_error", "code": "egress_watch_policy",
                "message": decision.reason}}  # fmt: skip
            ctx.master.commands.call(
                "inject.websocket", flow, True, json.dumps(notice).encode(), True
            )

    async def _inspect_and_record(
        self,
        flow: http.HTTPFlow,
        capture: Capture,
        route: Route,
        anchor: str | None = None,
        fallback: str | None = None,
    ) -> tuple[Inspection, int] | None:
        """Inspect off the event loop, commit the event, and return both; None after a failure.

        The time budget counts from when the request began to arrive: one that waited for the
        proxy or for a free inspector (many large bodies at once) has less of it left, so no
        request waits much past the budget.
        """
        assert self.inspector is not None
        assert self.writer is not None
        # A WebSocket message's flow began at the handshake, a streamed body (Cursor) may stay
        # open for minutes: their budgets start now.
        live = capture.method == "WS" or capture.streamed
        received = time.monotonic() if live else _received(flow)
        process = await self.process_of(flow)
        allowed = self.allowlist.fingerprints if self.allowlist else frozenset()
        try:
            hints = flow.metadata.get(CALL_HINTS_KEY) if capture.method == "WS" else None
            inspect = functools.partial(
                self.inspector.inspect, capture, route, None, allowed, process, anchor, fallback,
                hints, received=received,
            )  # fmt: skip
            inspection = await asyncio.get_running_loop().run_in_executor(self._inspectors, inspect)
            event_id = await asyncio.wrap_future(self.writer.submit(inspection.event))
        except SpoolFull:
            if not self._refuse_unrecorded(flow, capture, route):
                return None
            event_id = LOST
        except Exception as error:
            await self._fail(flow, capture, route, error, process)
            return None
        self.notifier.dispatch(
            inspection.alerts, route.service_id, inspection.decision.action, process
        )
        return inspection, event_id

    def _refuse_unrecorded(self, flow: http.HTTPFlow, capture: Capture, route: Route) -> bool:
        """History and spool are full: fail closed refuses the request; open lets it go on.

        Returns True when the request goes on (its loss is counted by the writer).
        """
        if self.settings.fail_mode is not FailMode.CLOSED or capture.streamed:
            return True
        self.stats.blocked += 1
        message = "egress-watch cannot record this request (history and spool full) and is "
        message += "configured to fail closed"
        if capture.method == "WS" and flow.websocket is not None:
            flow.websocket.messages[-1].drop()
        else:
            flow.response = _response(
                local_answer(route.family, flow.request.headers.get("content-type"), message, False)
            )
        return False

    def error(self, flow: http.HTTPFlow) -> None:
        """The upstream failed after the event was recorded: write that onto the event."""
        recorded = flow.metadata.get(EVENT_KEY)
        if recorded is None or self.writer is None or flow.error is None:
            return
        outcome = upstream_outcome(flow.error.msg, flow.response is not None)
        if outcome is None:
            return
        event_id, event = recorded
        action, message = outcome
        if action is Action.FAILED:
            self.stats.failed += 1
        self.writer.record_outcome(event_id, event, action, message)

    def _count(self, inspection: Inspection, event_id: int) -> None:
        self.stats.events += event_id != LOST
        if inspection.event.uninspected_reason:
            self.stats.uninspected += 1

    def _verify(self, inspection: Inspection) -> None:
        """Queue a forwarded request's new secrets for live verification (when enabled)."""
        if self.verifier is None or inspection.decision.action is Action.BLOCK:
            return
        segments = inspection.extraction.segments
        by_segment: dict[int, list[Finding]] = {}
        for finding in inspection.event.findings:
            by_segment.setdefault(finding.segment_index, []).append(finding)
        for index, findings in by_segment.items():
            if index < len(segments):
                self.verifier.submit(segments[index].text, findings)

    def _apply(self, flow: http.HTTPFlow, inspection: Inspection, event_id: int) -> None:
        self._count(inspection, event_id)
        decision = inspection.decision
        flow.metadata["egress_watch"] = {
            "event_id": event_id,
            "service": inspection.route.service_id,
            "action": decision.action.value,
            "findings": len(inspection.event.findings),
        }
        if decision.action is not Action.BLOCK:
            flow.metadata[EVENT_KEY] = (event_id, inspection.event)
        if decision.action is Action.REDACT and inspection.rewritten_body is not None:
            self.stats.redacted += 1
            # Setting .content re-applies the original Content-Encoding and fixes the length.
            flow.request.content = inspection.rewritten_body
        if (
            decision.action is not Action.BLOCK
            and self.answers is not None
            and self.settings.restore.restores(inspection.route.service_id)
        ):
            self.answers.plan(flow, inspection.route.service_id, inspection.conversation, event_id)
        elif decision.action is Action.BLOCK:
            self.stats.blocked += 1
            flow.response = _response(
                local_answer(inspection.route.family, flow.request.headers.get("content-type"),
                             decision.reason)
            )  # fmt: skip

    async def _fail(
        self,
        flow: http.HTTPFlow,
        capture: Capture,
        route: Route,
        error: Exception,
        process: ProcessInfo | None = None,
    ) -> None:
        """Apply the fail mode; log the error's type only, since its text may quote the body."""
        self.stats.errors += 1
        closed = self.settings.fail_mode is FailMode.CLOSED
        log.error("egress-watch: inspection failed (%s); fail %s", type(error).__name__,
                  "closed" if closed else "open")  # fmt: skip
        action = Action.BLOCK if closed and not capture.streamed else Action.PASS
        try:
            await asyncio.wrap_future(
                self.writer.submit(
                    error_event(capture, route, error, action, process, self._facts(route, capture))
                )
            )
        except Exception as write_error:
            log.error("egress-watch: could not record the failure (%s)", type(write_error).__name__)
        if closed and capture.method == "WS" and flow.websocket is not None:
            flow.websocket.messages[-1].drop()
        elif closed and not capture.streamed:
            message = "egress-watch could not inspect this request and is configured to fail closed"
            flow.response = _response(
                local_answer(route.family, flow.request.headers.get("content-type"), message, False)
            )

    def _facts(self, route: Route, capture: Capture) -> Facts:
        """Where the request was going, even when its inspection failed."""
        return self.inspector.facts(route, capture.host) if self.inspector else UNKNOWN

    def state(self) -> dict[str, Any]:
        """The health record ``egress-watch status`` reads."""
        return {
            "pid": os.getpid(),
            "listen_host": ctx.options.listen_host or "0.0.0.0",  # noqa: S104 - report, not bind
            "listen_port": ctx.options.listen_port,
            "mode": self.settings.mode.value,
            "database": str(self.paths.database) if self.paths else None,
            "updated_at": time.time(),
            "restore_held": self.vault.held,
            **asdict(self.stats),
            **(history_fields(self.writer.health()) if self.writer is not None else {}),
        }

    def _write_state(self) -> None:
        if self.paths is not None:
            write_state_file(self.paths.state, self.state())

    def _watch_history(self) -> None:
        """One desktop alert when the history stops taking writes; re-armed once it recovers."""
        if self.writer is None or self.paths is None:
            return
        health = self.writer.health()
        if health.degraded and not self._history_alerted:
            self._history_alerted = True
            self.notifier.alert(degraded_note(health, self.paths.home))
        elif not health.degraded:
            self._history_alerted = False

    async def _publish_state(self) -> None:
        while True:
            await asyncio.sleep(STATE_INTERVAL_S)
            self._watch_history()
            try:
                self._write_state()
            except OSError as error:
                log.warning("egress-watch: cannot write %s: %s", self.paths, error.strerror)


def _response(answer: LocalAnswer) -> http.Response:
    """A mitmproxy response for a local answer; an empty body ends the stream with the headers."""
    return http.Response.make(answer.status, answer.body, dict(answer.headers))


CALL_HINTS_KEY = "egress_watch_call_hints"
MAX_CALL_HINTS = 256


def _remember_call_hint(flow: http.HTTPFlow, message: Any) -> None:
    """Keep the file a server-announced tool call names, for that call's output later on."""
    if not message.is_text or len(message.content) > 1_000_000:
        return
    try:
        found = server_call_hint(json.loads(message.content))
    except ValueError:
        return
    if found is not None:
        hints = flow.metadata.setdefault(CALL_HINTS_KEY, {})
        if len(hints) < MAX_CALL_HINTS:
            hints[found[0]] = found[1]


def _received(flow: http.HTTPFlow) -> float:
    """When the request began to arrive, on the monotonic clock. The time budget counts from
    there: a body a busy proxy was slow to read (a flood of large bodies) has less of it left.
    The client is on this machine, so reading is slow only when the proxy itself is."""
    now = time.monotonic()
    began = flow.request.timestamp_start
    return min(now, now - (time.time() - began))

"""The mitmproxy addon: capture AI-service requests, inspect them, record, then forward or block.

The hook stays thin: classification runs in a worker thread and the database write goes
through the single writer, so mitmproxy's event loop never waits on either. The hooks live here
(mitmproxy finds them by name); how the addon is built is in ``wiring``, the inspect-and-record
path in ``recording``, the flow reading and writing in ``flows``, the status record in ``health``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from datetime import UTC, datetime
from typing import Any

from mitmproxy import connection, ctx, http, tls
from mitmproxy.addonmanager import Loader
from mitmproxy.exceptions import OptionsError

from egress_watch.capture import wiring
from egress_watch.capture.answers import Answers
from egress_watch.capture.attribution import ConnectionProcesses
from egress_watch.capture.flows import (
    TEE_KEY,
    capture_from_flow,
    local_response,
    remember_call_hint,
)
from egress_watch.capture.framing import StreamFraming, frame_buffered_body
from egress_watch.capture.health import Health, Stats
from egress_watch.capture.recording import LOST, Recorder
from egress_watch.capture.streams import BodyTee, is_streaming_rpc
from egress_watch.capture.tls_identity import sni_outside_catalog
from egress_watch.capture.upstream import upstream_outcome
from egress_watch.capture.worker_pool import AnalysisPool
from egress_watch.catalog.discovery import ai_suspicion
from egress_watch.config.settings import Settings
from egress_watch.decide.policy import Level, destination
from egress_watch.decide.responses import local_answer
from egress_watch.decide.vault import Vault
from egress_watch.errors import EgressWatchError
from egress_watch.model import (
    Action,
    Finding,
    HostSighting,
    ProcessInfo,
    Route,
    utc_iso,
)
from egress_watch.paths import HomePaths
from egress_watch.pipeline import Inspection, Inspector
from egress_watch.store.triage import AllowlistWatcher
from egress_watch.workstation.ca import CANARY_HOST
from egress_watch.workstation.demo import DEMO_PATH, DEMO_ROUTE
from egress_watch.workstation.notify import Notifier

log = logging.getLogger(__name__)

DRAIN_SECONDS = 10.0
"""How long stopping waits for the requests being inspected to be recorded."""

EVENT_KEY = "egress_watch_event"
"""flow.metadata key of (event id, Event) of a forwarded request, for its upstream outcome."""


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
        self.health = Health(self)
        self._state_task: asyncio.Task[None] | None = None
        self.processes: ConnectionProcesses | None = None
        self.notifier = Notifier()
        self.allowlist: AllowlistWatcher | None = None
        self._allowlist_task: asyncio.Task[None] | None = None
        self.vault = Vault()  # survives a reconfigure; a restart empties it
        self.stream_framing = StreamFraming()
        self.answers: Answers | None = None
        self.verifier: Any = None  # Verifier when [secrets] verify is on
        self.pool: AnalysisPool | None = None  # large bodies are analysed in its workers
        self.recorder = Recorder(self)

    def load(self, loader: Loader) -> None:
        wiring.add_options(loader, self._defaults)

    def configure(self, updated: set[str]) -> None:
        if self.inspector is not None and not any(k.startswith("egress_watch_") for k in updated):
            return
        try:
            self._setup(ctx.options.egress_watch_home or None)
        except (EgressWatchError, ValueError) as error:
            raise OptionsError(str(error)) from None

    def _setup(self, home: str | None) -> None:
        ready = wiring.prepare(
            home, ctx.options.egress_watch_mode, ctx.options.egress_watch_fail_mode
        )
        if self.writer is not None:
            self.writer.close()
        if self.pool is not None:  # a reload: new workers with the new settings
            self.pool.close()
        self.paths, self.settings, self.writer = ready.paths, ready.settings, ready.writer
        self.pool, self.inspector, self.answers = wiring.inspection_parts(ready, self.vault)
        if self.verifier is not None:
            self.verifier.close()
            self.verifier = None
        self.verifier = wiring.start_verifier(ready.paths, ready.settings)
        self.processes = ConnectionProcesses(ready.engine.classify_text)
        self.allowlist = AllowlistWatcher(ready.paths.database)
        self.allowlist.refresh()
        if self._allowlist_task is not None:  # reconfigured while running: watch the new one
            self._allowlist_task.cancel()
            self._allowlist_task = asyncio.get_running_loop().create_task(self.allowlist.watch())
        log.info(
            "egress-watch: recording to %s (mode %s)",
            ready.paths.database,
            ready.settings.mode.value,
        )

    def running(self) -> None:
        self.health.write_state()
        loop = asyncio.get_running_loop()
        self._state_task = loop.create_task(self.health.publish())
        if self.allowlist is not None:
            self._allowlist_task = loop.create_task(self.allowlist.watch())

    async def done(self) -> None:
        await self.recorder.drain(DRAIN_SECONDS)  # the requests being inspected are recorded
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
        inspected = await self.recorder.inspect_and_record(flow, capture, route)
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
        if self.inspector is None:
            return
        route = self.route_of(flow)
        if route is None:
            return
        if self.writer is None or self.recorder.stopping:  # stopping: nothing can record it
            self.recorder.refuse_while_stopping(flow)
            return
        self.stats.requests += 1
        capture = capture_from_flow(flow)
        inspected = await self.recorder.inspect_and_record(flow, capture, route, fallback=flow.id)
        if inspected is not None:
            self._apply(flow, *inspected)
            self._verify(inspected[0])

    async def websocket_message(self, flow: http.HTTPFlow) -> None:
        """Each text message a client sends on an AI service's WebSocket is one event."""
        if self.inspector is None or flow.websocket is None:  # (no writer: stopping)
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
            remember_call_hint(flow, message)
            return
        self.stats.requests += 1
        capture = dataclasses.replace(
            capture_from_flow(flow, message.content),
            method="WS",
            headers=(),  # the handshake's headers say nothing about this message's body
            uninspected_reason=None if message.is_text else "binary WebSocket message",
            streamed=False,
        )
        inspected = await self.recorder.inspect_and_record(
            flow, capture, route, anchor="ws:" + flow.id
        )
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
            flow.response = local_response(
                local_answer(inspection.route.family, flow.request.headers.get("content-type"),
                             decision.reason)
            )  # fmt: skip

    def state(self) -> dict[str, Any]:
        """The health record ``egress-watch status`` reads."""
        return self.health.state()

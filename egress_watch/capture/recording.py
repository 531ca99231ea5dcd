"""Inspect one request off the event loop and commit its event, or apply the fail mode.

Apart from the hooks because it is the one path every inspected request takes (HTTP body,
streamed body, WebSocket message), with its own threads and its own failure rules.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from mitmproxy import http

from egress_watch.capture.flows import CALL_HINTS_KEY, local_response, received_at
from egress_watch.capture.health import Stats
from egress_watch.catalog.facts import UNKNOWN, Facts
from egress_watch.config.settings import Settings
from egress_watch.decide.responses import local_answer
from egress_watch.model import Action, Capture, FailMode, ProcessInfo, Route
from egress_watch.pipeline import Inspection, Inspector, error_event
from egress_watch.store.spool import SpoolFull
from egress_watch.store.triage import AllowlistWatcher
from egress_watch.workstation.notify import Notifier

log = logging.getLogger(__name__)

LOST = -1
"""The event id of a request whose event neither the history nor the spool could take."""

INSPECT_THREADS = 4
"""Requests inspected at once: one large body never holds up the others. Large bodies are
analysed in worker processes (inspect_pool), so these threads mostly wait; two per worker keep
each worker fed while the event loop (TLS, reading and forwarding) keeps its share of the GIL."""


class Running(Protocol):
    """What recording reads from the running addon (read anew each time: a reconfigure
    replaces the inspector, the settings and the writer)."""

    inspector: Inspector | None
    writer: Any
    allowlist: AllowlistWatcher | None
    settings: Settings
    stats: Stats
    notifier: Notifier

    async def process_of(self, flow: http.HTTPFlow) -> ProcessInfo | None: ...


class Recorder:
    """Runs requests through the inspector on a few threads and records what it decided."""

    def __init__(self, running: Running) -> None:
        self._running = running
        # Few inspectors: requests wait here, where the time budget sees them.
        self._inspectors = ThreadPoolExecutor(INSPECT_THREADS, "egress-watch-inspect")
        self.stopping = False
        """Set when the proxy stops: a request it could no longer record does not go."""
        self._in_flight = 0
        self._drained: asyncio.Event | None = None

    @property
    def in_flight(self) -> int:
        """Requests being inspected or recorded now."""
        return self._in_flight

    async def drain(self, timeout: float) -> None:
        """Stop taking requests and wait (up to ``timeout`` seconds) until those being
        inspected are recorded: the history closes after them, so stopping loses no event."""
        self.stopping = True
        if self._in_flight:
            self._drained = asyncio.Event()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._drained.wait(), timeout)

    @staticmethod
    def refuse_while_stopping(flow: http.HTTPFlow, capture: Capture | None = None) -> None:
        """Close a request that arrives while the proxy stops, rather than forward it with no
        event (a client retries it against the next proxy)."""
        if capture is not None and capture.method == "WS" and flow.websocket is not None:
            flow.websocket.messages[-1].drop()
        elif flow.killable:
            flow.kill()

    async def inspect_and_record(
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
        if self.stopping:
            self.refuse_while_stopping(flow, capture)
            return None
        self._in_flight += 1
        try:
            return await self._inspect_and_record(flow, capture, route, anchor, fallback)
        finally:
            self._in_flight -= 1
            if not self._in_flight and self._drained is not None:
                self._drained.set()

    async def _inspect_and_record(
        self,
        flow: http.HTTPFlow,
        capture: Capture,
        route: Route,
        anchor: str | None,
        fallback: str | None,
    ) -> tuple[Inspection, int] | None:
        running = self._running
        assert running.inspector is not None
        writer = running.writer  # the one open now: stopping closes it after this request
        assert writer is not None
        # A WebSocket message's flow began at the handshake, a streamed body (Cursor) may stay
        # open for minutes: their budgets start now.
        live = capture.method == "WS" or capture.streamed
        received = time.monotonic() if live else received_at(flow)
        process = await running.process_of(flow)
        allowed = running.allowlist.fingerprints if running.allowlist else frozenset()
        try:
            hints = flow.metadata.get(CALL_HINTS_KEY) if capture.method == "WS" else None
            inspect = functools.partial(
                running.inspector.inspect, capture, route, None, allowed, process, anchor, fallback,
                hints, received=received,
            )  # fmt: skip
            inspection = await asyncio.get_running_loop().run_in_executor(self._inspectors, inspect)
            event_id = await asyncio.wrap_future(writer.submit(inspection.event))
        except SpoolFull:
            if not self.refuse_unrecorded(flow, capture, route):
                return None
            event_id = LOST
        except Exception as error:
            await self.fail(flow, capture, route, error, process)
            return None
        running.notifier.dispatch(
            inspection.alerts, route.service_id, inspection.decision.action, process
        )
        return inspection, event_id

    def refuse_unrecorded(self, flow: http.HTTPFlow, capture: Capture, route: Route) -> bool:
        """History and spool are full: fail closed refuses the request; open lets it go on.

        Returns True when the request goes on (its loss is counted by the writer).
        """
        if self._running.settings.fail_mode is not FailMode.CLOSED or capture.streamed:
            return True
        self._running.stats.blocked += 1
        message = "egress-watch cannot record this request (history and spool full) and is "
        message += "configured to fail closed"
        if capture.method == "WS" and flow.websocket is not None:
            flow.websocket.messages[-1].drop()
        else:
            flow.response = local_response(
                local_answer(route.family, flow.request.headers.get("content-type"), message, False)
            )
        return False

    async def fail(
        self,
        flow: http.HTTPFlow,
        capture: Capture,
        route: Route,
        error: Exception,
        process: ProcessInfo | None = None,
    ) -> None:
        """Apply the fail mode; log the error's type only, since its text may quote the body."""
        self._running.stats.errors += 1
        closed = self._running.settings.fail_mode is FailMode.CLOSED
        log.error("egress-watch: inspection failed (%s); fail %s", type(error).__name__,
                  "closed" if closed else "open")  # fmt: skip
        action = Action.BLOCK if closed and not capture.streamed else Action.PASS
        try:
            await asyncio.wrap_future(
                self._running.writer.submit(
                    error_event(capture, route, error, action, process, self.facts(route, capture))
                )
            )
        except Exception as write_error:
            log.error("egress-watch: could not record the failure (%s)", type(write_error).__name__)
        if closed and capture.method == "WS" and flow.websocket is not None:
            flow.websocket.messages[-1].drop()
        elif closed and not capture.streamed:
            message = "egress-watch could not inspect this request and is configured to fail closed"
            flow.response = local_response(
                local_answer(route.family, flow.request.headers.get("content-type"), message, False)
            )

    def facts(self, route: Route, capture: Capture) -> Facts:
        """Where the request was going, even when its inspection failed."""
        inspector = self._running.inspector
        return inspector.facts(route, capture.host) if inspector else UNKNOWN

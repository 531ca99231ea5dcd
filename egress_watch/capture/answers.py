"""The proxy's side of restore: pick each answer's restorer and record what it did.

A redacted request leaves its conversation's placeholders in the vault; its answer is then
restored as it streams (SSE), whole (JSON and text bodies), or message by message (WebSocket
server events). Other answers stream untouched. Only counts are recorded, on the request's
event, once the answer ends.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, Protocol

from mitmproxy import ctx, http
from mitmproxy.websocket import WebSocketMessage

from egress_watch.decide.conversation import conversation_key, response_anchor
from egress_watch.decide.naming import Naming
from egress_watch.decide.restore import Counts, Restoration, dumps, restore_body
from egress_watch.decide.restore_streams import EventRestorer, SseRestorer
from egress_watch.model import RestoreOutcome

log = logging.getLogger(__name__)

MARKER = b"[REDACTED:"
"""A request carrying this quotes placeholders back: its answer is checked even when the vault
holds nothing for it (after a restart), so the unrestored ones are counted."""
PLAN_KEY = "egress_watch_restore"
WS_KEY = "egress_watch_ws_restore"
_WS_TURN_ENDS = frozenset({"response.done", "response.completed", "response.failed"})


class Recorder(Protocol):
    def record_restore(self, outcome: RestoreOutcome) -> object: ...


@dataclass
class _Plan:
    """What the request hook learnt for its answer."""

    conversation: str
    event_id: int
    service: str
    buffered: bool = False


@dataclass
class _Socket:
    """A WebSocket's restore state across its server messages."""

    conversation: str
    event_id: int = 0
    events: EventRestorer | None = None
    reported: Counts | None = None


class Answers:
    """Holds the vault (through ``naming``) and the writer; called from the proxy's hooks."""

    def __init__(self, naming: Naming, writer: Recorder) -> None:
        self.naming = naming
        self.writer = writer

    @property
    def held(self) -> int:
        return self.naming.vault.held

    def plan(
        self, flow: http.HTTPFlow, service: str, conversation: str | None, event_id: int
    ) -> None:
        """After the request is inspected: restore its answer if the conversation needs it."""
        if conversation is None:
            return
        held = self.naming.vault.originals(conversation)
        if not held and MARKER not in (flow.request.raw_content or b""):
            return
        flow.metadata[PLAN_KEY] = _Plan(conversation, event_id, service)
        # A compressed stream could not be restored on the fly: ask for an uncompressed one.
        flow.request.headers["accept-encoding"] = "identity"

    def responseheaders(self, flow: http.HTTPFlow) -> bool:
        """Set the answer's restorer; False when the answer just streams through."""
        plan = flow.metadata.get(PLAN_KEY)
        response = flow.response
        if not isinstance(plan, _Plan) or response is None:
            return False
        kind = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        encoding = response.headers.get("content-encoding", "identity").lower()
        restoration = Restoration(self.naming.vault.originals(plan.conversation))
        if kind == "text/event-stream" and encoding in {"", "identity"}:
            response.stream = SseRestorer(
                restoration,
                lambda counts: self._record(plan.event_id, counts),
                lambda response_id: self._continues(plan, response_id),
            )
            return True
        if kind.endswith("json") or kind.startswith("text/"):
            plan.buffered = True  # whole bodies: restored in the response hook
            return True
        log.info("egress-watch: %s answer (%s) not restored", kind or "untyped", encoding)
        return False

    def response(self, flow: http.HTTPFlow) -> None:
        plan = flow.metadata.get(PLAN_KEY)
        if not isinstance(plan, _Plan) or not plan.buffered or flow.response is None:
            return
        counts = Counts()
        restoration = Restoration(self.naming.vault.originals(plan.conversation))
        body = flow.response.get_content(strict=False) or b""
        content_type = flow.response.headers.get("content-type")
        try:
            restored = restore_body(body, content_type, restoration, counts)
        except Exception as error:  # a restorer bug must never break the answer
            log.error("egress-watch: could not restore an answer (%s)", type(error).__name__)
            return
        if restored is not None:
            flow.response.content = restored  # re-encodes, fixes the length
        self._record(plan.event_id, counts)
        if b'"object"' in body and b'"response"' in body:  # a Responses answer: note its id
            try:
                answer = json.loads(body)
            except ValueError:
                return
            if isinstance(answer, dict) and isinstance(answer.get("id"), str):
                self._continues(plan, answer["id"])

    def _continues(self, plan: _Plan, response_id: str) -> None:
        """A later request with ``previous_response_id`` is the same conversation."""
        other = conversation_key(self.naming.key, plan.service, response_anchor(response_id))
        self.naming.vault.alias(other, plan.conversation)

    def client_message(self, flow: http.HTTPFlow, service: str, event_id: int) -> str:
        """A client message was recorded: later server messages restore into its event."""
        state = flow.metadata.get(WS_KEY)
        if not isinstance(state, _Socket):
            anchor = "ws:" + flow.id
            state = _Socket(conversation_key(self.naming.key, service, anchor))
            flow.metadata[WS_KEY] = state
        state.event_id = event_id
        return state.conversation

    def server_message(self, flow: http.HTTPFlow, message: WebSocketMessage) -> None:
        """Restore one server event; held-back text goes out with a later one."""
        state = flow.metadata.get(WS_KEY)
        if not isinstance(state, _Socket) or not message.is_text:
            return
        held = self.naming.vault.originals(state.conversation)
        if not held and state.events is None:
            return
        if state.events is None:
            state.events, state.reported = EventRestorer(Restoration(held)), Counts()
        elif len(held) != len(state.events.restoration.table):
            state.events.restoration = Restoration(held)
        try:
            doc = json.loads(message.text)
        except ValueError:
            return
        if not isinstance(doc, dict):
            return
        try:
            docs, changed = state.events.event(doc)
        except Exception as error:  # a restorer bug must never break the conversation
            log.error("egress-watch: could not restore a message (%s)", type(error).__name__)
            return
        if doc.get("type") in _WS_TURN_ENDS:
            self._report_socket(state)
        if not changed:
            return
        first, *rest = docs
        message.content = dumps(first)
        for extra in rest:  # sent after this message, in order
            ctx.master.commands.call("inject.websocket", flow, True, dumps(extra), True)

    def _report_socket(self, state: _Socket) -> None:
        assert state.events is not None
        assert state.reported is not None
        total = state.events.counts
        delta = Counts(
            total.restored - state.reported.restored, total.unrestored - state.reported.unrestored
        )
        state.reported = Counts(total.restored, total.unrestored)
        self._record(state.event_id, delta)

    def _record(self, event_id: int, counts: Counts) -> None:
        if event_id and (counts.restored or counts.unrestored):
            self.writer.record_restore(RestoreOutcome(event_id, counts.restored, counts.unrestored))

    def state(self) -> dict[str, Any]:
        return {"restore_held": self.held}

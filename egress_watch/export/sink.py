"""What every sink implements, and the record it is handed."""

from __future__ import annotations

import json
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from egress_watch.model import Severity

Health = Literal["ok", "wait", "dead"]


class SinkError(Exception):
    """A delivery failed; the exporter retries the same records after a backoff."""


@dataclass(frozen=True, slots=True)
class Record:
    """One event ready to export: its id, time, severity and the JSON document."""

    event_id: int
    uid: str
    time: str
    severity: Severity | None
    document: dict[str, Any]

    def json(self) -> str:
        """Compact, ASCII-only JSON (safe in syslog MSG without a BOM, and in any log file)."""
        return json.dumps(self.document, separators=(",", ":"), ensure_ascii=True)


class Sink(Protocol):
    """A destination. ``send`` returns once the receiver has the records (or raises)."""

    confirm_delay_s: float
    """0: ``send`` returning means delivered. Otherwise (a stream without acknowledgements)
    records count as delivered only once the connection stayed healthy this long after."""

    def send(self, records: Sequence[Record]) -> None: ...

    def check(self) -> Health:
        """After ``send``: ok (all of it reached the peer), wait (not yet), dead (resend)."""
        ...

    def close(self) -> None: ...


def tls_context(ca_file: str, cert_file: str, key_file: str) -> ssl.SSLContext:
    """A verifying client context: the system's CAs or ``ca_file``, an optional client cert."""
    context = ssl.create_default_context(cafile=ca_file or None)
    if cert_file:
        context.load_cert_chain(cert_file, key_file or None)
    return context

"""What every sink implements, and the record it is handed."""

from __future__ import annotations

import http.client
import json
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol
from urllib.parse import urlsplit

from egress_watch.model import Severity

if TYPE_CHECKING:
    from egress_watch.config.export_sinks import SinkConfig

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


HTTP_TIMEOUT_S = 15.0


@dataclass(frozen=True, slots=True)
class HttpTarget:
    """Where an HTTP sink POSTs: parsed once from its URL, with its TLS context and headers."""

    https: bool
    host: str
    port: int | None
    path: str
    headers: Mapping[str, str]
    tls: ssl.SSLContext | None

    @classmethod
    def from_config(cls, config: SinkConfig, default_path: str) -> HttpTarget:
        parts = urlsplit(config.url)
        https = parts.scheme == "https"
        tls = tls_context(config.ca_file, config.cert_file, config.key_file) if https else None
        return cls(
            https, parts.hostname or "", parts.port, parts.path or default_path,
            dict(config.headers), tls,
        )  # fmt: skip

    def post(self, body: bytes, headers: Mapping[str, str]) -> None:
        """POST ``body`` with the configured headers plus ``headers``; raise SinkError on a
        network error or a non-2xx status (never quoting the response body)."""
        where = f"POST {self.host}:{self.port}{self.path}"
        conn: http.client.HTTPConnection = (
            http.client.HTTPSConnection(self.host, self.port, timeout=HTTP_TIMEOUT_S,
                                        context=self.tls)
            if self.https
            else http.client.HTTPConnection(self.host, self.port, timeout=HTTP_TIMEOUT_S)
        )  # fmt: skip
        try:
            conn.request("POST", self.path, body=body, headers={**self.headers, **headers})
            response = conn.getresponse()
            response.read()
        except (OSError, http.client.HTTPException) as error:
            raise SinkError(f"{where}: {error}") from None
        finally:
            conn.close()
        if not 200 <= response.status < 300:
            raise SinkError(f"{where}: HTTP {response.status} {response.reason}")

"""Syslog: RFC 5424 messages over UDP, TCP (RFC 6587 octet counting) or TLS (RFC 5425)."""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import socket
import ssl
import struct
import termios
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from egress_watch.config.export_sinks import FACILITIES, SinkConfig
from egress_watch.export.sink import Health, Record, SinkError, tls_context
from egress_watch.model import Severity

APP_NAME = "egress-watch"
SD_ID = "egress-watch@32473"
"""Structured-data id; 32473 is the enterprise number RFC 5612 reserves for documentation."""
CONFIRM_DELAY_S = 0.5
UDP_MAX_BYTES = 60_000
CONNECT_TIMEOUT_S = 10.0
_SEVERITY = {None: 6, Severity.LOW: 5, Severity.MEDIUM: 4, Severity.HIGH: 3, Severity.CRITICAL: 2}


def _sd_escape(value: str) -> str:
    """Escape a structured-data parameter value (RFC 5424 section 6.3.3)."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def format_message(record: Record, facility: str, hostname: str, procid: int) -> bytes:
    """One RFC 5424 message: PRI, timestamp, host, app, MSGID, [event ids], JSON MSG."""
    pri = FACILITIES[facility] * 8 + _SEVERITY[record.severity]
    msgid = "finding" if record.document.get("findings") else "event"
    sd = f'[{SD_ID} uid="{_sd_escape(record.uid)}" eventId="{record.event_id}"]'
    host = hostname[:255] or "-"
    return (
        f"<{pri}>1 {record.time} {host} {APP_NAME} {procid} {msgid} {sd} {record.json()}".encode()
    )


def without_findings(document: dict[str, Any]) -> dict[str, Any]:
    """The record minus its findings list (native or OCSF), with their count."""
    if "unmapped" in document:
        unmapped = document["unmapped"]
        omitted = len(unmapped["findings"])
        return {**document, "unmapped": {**unmapped, "findings": [], "findings_omitted": omitted}}
    return {**document, "findings": [], "findings_omitted": len(document["findings"])}


def frame(message: bytes) -> bytes:
    """RFC 6587 octet counting: the length, a space, the message."""
    return b"%d %b" % (len(message), message)


class SyslogSink:
    """A syslog receiver; a stream connection is opened lazily and re-opened after a failure."""

    def __init__(self, config: SinkConfig, hostname: str, procid: int) -> None:
        parts = urlsplit(config.url)
        self._scheme = parts.scheme
        self._address = (parts.hostname or "", int(parts.port or 514))
        self._facility = config.facility
        self._hostname = hostname
        self._procid = procid
        self._tls = (
            tls_context(config.ca_file, config.cert_file, config.key_file)
            if self._scheme == "tls"
            else None
        )
        self._sock: socket.socket | None = None
        self.confirm_delay_s = 0.0 if self._scheme == "udp" else CONFIRM_DELAY_S

    def _connect(self) -> socket.socket:
        if self._scheme == "udp":
            sock = socket.socket(
                socket.AF_INET6 if ":" in self._address[0] else socket.AF_INET, socket.SOCK_DGRAM
            )
            sock.connect(self._address)
            return sock
        sock = socket.create_connection(self._address, timeout=CONNECT_TIMEOUT_S)
        if self._tls is not None:
            sock = self._tls.wrap_socket(sock, server_hostname=self._address[0])
        return sock

    def _message(self, record: Record) -> bytes:
        """The RFC 5424 message; over UDP, findings are left out of one too big for a datagram."""
        message = format_message(record, self._facility, self._hostname, self._procid)
        if self._scheme == "udp" and len(message) > UDP_MAX_BYTES:
            slim = dataclasses.replace(record, document=without_findings(record.document))
            message = format_message(slim, self._facility, self._hostname, self._procid)
        return message

    def send(self, records: Sequence[Record]) -> None:
        """Write every record; UDP sends one datagram each, streams frame them."""
        messages = [self._message(r) for r in records]
        try:
            if self._sock is None:
                self._sock = self._connect()
            if self._scheme == "udp":
                for message in messages:
                    self._sock.send(message)
            else:
                self._sock.sendall(b"".join(frame(m) for m in messages))
        except (OSError, ssl.SSLError) as error:
            self.close()
            raise SinkError(
                f"syslog {self._scheme}://{self._address[0]}:{self._address[1]}: "
                f"{error.strerror or error}"
            ) from None

    def check(self) -> Health:
        """ok once the peer acknowledged every byte and has not closed; dead if it has."""
        sock = self._sock
        if sock is None:
            return "dead"
        if self._scheme == "udp":
            return "ok"
        try:
            sock.settimeout(0)
            try:
                if sock.recv(1) == b"":  # a syslog receiver never speaks: data or EOF means gone
                    return self._dead()
            except (BlockingIOError, ssl.SSLWantReadError):
                pass
            finally:
                sock.settimeout(CONNECT_TIMEOUT_S)
            unacked = struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0"))[
                0
            ]
        except (OSError, ssl.SSLError):
            return self._dead()
        return "ok" if unacked == 0 else "wait"

    def _dead(self) -> Health:
        self.close()
        return "dead"

    def close(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
            self._sock = None

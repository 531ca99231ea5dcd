"""OpenTelemetry logs over OTLP/HTTP: a hand-encoded ``ExportLogsServiceRequest`` (protobuf).

Only the few messages a log export needs are encoded (field numbers from opentelemetry-proto
``logs/v1/logs.proto``, ``common/v1/common.proto``, ``resource/v1/resource.proto``); the tests
decode the bytes with the real opentelemetry-proto classes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from egress_watch import __version__
from egress_watch.config.export_sinks import SinkConfig
from egress_watch.export.schema import Identity
from egress_watch.export.sink import Health, HttpTarget, Record
from egress_watch.model import Severity

_SEVERITY = {
    None: (9, "INFO"),
    Severity.LOW: (10, "INFO2"),
    Severity.MEDIUM: (13, "WARN"),
    Severity.HIGH: (17, "ERROR"),
    Severity.CRITICAL: (21, "FATAL"),
}


def _varint(value: int) -> bytes:
    """Protobuf base-128 varint (values here are never negative)."""
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited field (wire type 2): strings, bytes and sub-messages."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _fixed64(number: int, value: int) -> bytes:
    return _varint(number << 3 | 1) + value.to_bytes(8, "little")


def _int(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(value) if value else b""


def _text(number: int, value: str) -> bytes:
    return _field(number, value.encode())


def _attribute(key: str, value: str | int) -> bytes:
    """KeyValue{key, AnyValue{string_value | int_value}}."""
    any_value = _text(1, value) if isinstance(value, str) else _int(3, value)
    return _text(1, key) + _field(2, any_value)


def _log_record(record: Record) -> bytes:
    """LogRecord: times, severity, the JSON body, event-id attributes and event name."""
    nanos = int(datetime.fromisoformat(record.time).timestamp() * 1_000_000) * 1000
    number, text = _SEVERITY[record.severity]
    attributes: list[tuple[str, str | int]] = [
        ("event.id", record.uid),
        ("egress_watch.event_id", record.event_id),
        ("egress_watch.schema", str(record.document.get("schema", "ocsf"))),
    ]
    return (
        _fixed64(1, nanos)
        + _fixed64(11, nanos)
        + _int(2, number)
        + _text(3, text)
        + _field(5, _text(1, record.json()))
        + b"".join(_field(6, _attribute(k, v)) for k, v in attributes)
        + _text(12, "egress_watch.event")
    )


def encode_request(records: Sequence[Record], identity: Identity) -> bytes:
    """ExportLogsServiceRequest{ResourceLogs{Resource, ScopeLogs{Scope, LogRecord…}}}."""
    resource = b"".join(
        _field(1, _attribute(k, v))
        for k, v in (
            ("service.name", "egress-watch"),
            ("service.version", __version__),
            ("host.name", identity.hostname),
            ("user.name", identity.user),
            ("service.instance.id", identity.install_id),
        )
    )
    scope = _text(1, "egress_watch.export") + _text(2, __version__)
    scope_logs = _field(1, scope) + b"".join(_field(2, _log_record(r)) for r in records)
    return _field(1, _field(1, resource) + _field(2, scope_logs))


class OtlpSink:
    """POST each batch to an OTLP/HTTP collector (``…/v1/logs``); any 2xx is delivered."""

    confirm_delay_s = 0.0

    def __init__(self, config: SinkConfig, identity: Identity) -> None:
        self._target = HttpTarget.from_config(config, "/v1/logs")
        self._identity = identity

    def send(self, records: Sequence[Record]) -> None:
        body = encode_request(records, self._identity)
        self._target.post(body, {"Content-Type": "application/x-protobuf"})

    def check(self) -> Health:
        return "ok"

    def close(self) -> None:
        """Nothing to close: one connection per batch."""

"""HTTP webhooks: a generic JSON POST signed with HMAC-SHA256, or Splunk HEC's event format."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from egress_watch.config.export_sinks import SinkConfig
from egress_watch.export.sink import Health, HttpTarget, Record, SinkError

SIGNATURE_HEADER = "X-Egress-Watch-Signature"
TIMESTAMP_HEADER = "X-Egress-Watch-Timestamp"


def signature(key: bytes, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>`` of HMAC(key, timestamp + "." + body); the timestamp defeats replays."""
    return "sha256=" + hmac.new(key, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def hec_body(records: Sequence[Record], hostname: str) -> bytes:
    """Splunk HEC: concatenated ``{"time", "host", "source", "sourcetype", "event"}`` objects."""
    return "".join(
        json.dumps(
            {
                "time": round(datetime.fromisoformat(r.time).timestamp(), 6),
                "host": hostname,
                "source": "egress-watch",
                "sourcetype": "egress-watch:event",
                "event": r.document,
            },
            separators=(",", ":"),
            ensure_ascii=True,
        )
        for r in records
    ).encode()


def json_body(records: Sequence[Record]) -> bytes:
    """The generic webhook body: ``{"records": [...]}``."""
    return b'{"records":[' + b",".join(r.json().encode() for r in records) + b"]}"


class WebhookSink:
    """POST each batch; the key / token is read from ``secret_file`` when the sink starts."""

    confirm_delay_s = 0.0

    def __init__(self, config: SinkConfig, hostname: str) -> None:
        self._target = HttpTarget.from_config(config, "/")
        self._style = config.style
        self._hostname = hostname
        try:
            secret = (
                Path(config.secret_file).expanduser().read_bytes().strip()
                if config.secret_file
                else b""
            )
        except OSError as error:
            raise SinkError(f"{config.secret_file}: cannot read: {error.strerror}") from None
        self._secret = secret

    def send(self, records: Sequence[Record]) -> None:
        headers = {"Content-Type": "application/json"}
        if self._style == "splunk-hec":
            body = hec_body(records, self._hostname)
            if self._secret:
                headers["Authorization"] = "Splunk " + self._secret.decode()
        else:
            body = json_body(records)
            if self._secret:
                stamp = str(int(time.time()))
                headers[TIMESTAMP_HEADER] = stamp
                headers[SIGNATURE_HEADER] = signature(self._secret, stamp, body)
        self._target.post(body, headers)

    def check(self) -> Health:
        return "ok"

    def close(self) -> None:
        """One connection per batch: nothing to close."""

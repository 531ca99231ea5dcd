"""Offline inspection of saved traffic: HAR 1.2 files and mitmproxy flow files (an edge module).

Each request goes through the proxy's own route → decode → extract → classify, so a user can
see exactly what a tool sent. Output never holds a credential: headers are dropped, the URL
query is cut, and finding values appear only masked.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from egress_watch.capture.flows import CREDENTIAL_HEADERS
from egress_watch.decide.rewrite import redact_text
from egress_watch.decoding import jsonsafe
from egress_watch.model import Capture, Finding, JsonPath, Route
from egress_watch.pipeline import Inspection, Inspector
from egress_watch.shapes import finding_json


@dataclass(frozen=True, slots=True)
class SavedRequest:
    """One request read from a file: enough to rebuild a Capture, with its place in the file."""

    entry: int
    capture: Capture
    message: int | None = None
    """For a WebSocket message kept in the entry (``_webSocketMessages``): its number there."""


def _capture(method: str, url: str, headers: list[tuple[str, str]], body: bytes | None) -> Capture:
    parts = urlsplit(url)
    kept = tuple((k, v) for k, v in headers if k.lower() not in CREDENTIAL_HEADERS)
    path = parts.path or "/"
    return Capture(
        method=method.upper(),
        scheme=parts.scheme or "https",
        host=(parts.hostname or "").lower(),
        port=parts.port or (80 if parts.scheme == "http" else 443),
        path=f"{path}?{parts.query}" if parts.query else path,
        headers=kept,
        body=body,
    )


def _har_body(post: dict[str, Any]) -> tuple[bytes | None, bool]:
    """(body bytes, still content-encoded?) of a HAR ``postData``."""
    text = post.get("text")
    if isinstance(text, str):
        if post.get("encoding") == "base64" or post.get("_encoding") == "base64":
            try:
                return base64.b64decode(text, validate=True), True
            except (binascii.Error, ValueError):
                return text.encode("utf-8"), False
        return text.encode("utf-8"), False
    params = post.get("params")
    if isinstance(params, list):  # a form without text: its values are what left
        values = [str(p.get("value", "")) for p in params if isinstance(p, dict)]
        return "\n".join(values).encode("utf-8"), False
    return None, False


def read_har(document: Any) -> Iterator[SavedRequest]:
    """Requests of a parsed HAR 1.2 document; raises ValueError when it is not one."""
    try:
        entries = document["log"]["entries"]
    except (KeyError, TypeError):
        raise ValueError("not a HAR file (no log.entries)") from None
    for number, entry in enumerate(entries):
        request = entry.get("request") if isinstance(entry, dict) else None
        if not isinstance(request, dict) or not isinstance(request.get("url"), str):
            continue
        headers = [
            (str(h.get("name", "")), str(h.get("value", "")))
            for h in request.get("headers") or ()
            if isinstance(h, dict)
        ]
        body, encoded = _har_body(request.get("postData") or {})
        if not encoded:  # HAR text is already decoded: a Content-Encoding header would lie
            headers = [(k, v) for k, v in headers if k.lower() != "content-encoding"]
        capture = _capture(str(request.get("method", "GET")), request["url"], headers, body)
        messages = entry.get("_webSocketMessages")
        if isinstance(messages, list):
            yield from _websocket_messages(number, capture, messages)
        else:
            yield SavedRequest(number, capture)


def _websocket_messages(
    entry: int, handshake: Capture, messages: list[Any]
) -> Iterator[SavedRequest]:
    """What the client sent on a socket recorded by a browser (Chrome and Firefox HAR export):
    one request per sent message, as the proxy records each (method ``WS``)."""
    for number, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("type") != "send":
            continue
        data = message.get("data")
        if not isinstance(data, str):
            continue
        text = message.get("opcode", 1) == 1
        body = data.encode("utf-8") if text else _base64_or_raw(data)
        yield SavedRequest(
            entry,
            dataclasses.replace(
                handshake,
                method="WS",
                headers=(),
                body=body,
                uninspected_reason=None if text else "binary WebSocket message",
            ),
            number,
        )


def _base64_or_raw(data: str) -> bytes:
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return data.encode("utf-8")


def read_flows(path: Path) -> Iterator[SavedRequest]:
    """Requests of a mitmproxy flow file (``mitmdump -w``); bodies stay content-encoded."""
    from mitmproxy import http, io
    from mitmproxy.exceptions import FlowReadException

    with path.open("rb") as handle:
        try:
            for number, flow in enumerate(io.FlowReader(handle).stream()):
                if isinstance(flow, http.HTTPFlow):
                    request = flow.request
                    headers = [
                        (k.decode("latin-1"), v.decode("latin-1"))
                        for k, v in request.headers.fields
                    ]
                    capture = _capture(request.method, request.url, headers, request.raw_content)
                    yield SavedRequest(number, capture)
        except FlowReadException as error:
            raise ValueError(f"not a HAR or mitmproxy flow file ({error})") from None


def read_saved(path: Path) -> Iterator[SavedRequest]:
    """HAR when the file is JSON, else a mitmproxy flow file."""
    raw = path.read_bytes()
    if raw.lstrip()[:1] == b"{":
        try:
            document = jsonsafe.loads(raw)
        except ValueError:
            raise ValueError(f"{path}: not valid JSON (HAR expected)") from None
        yield from read_har(document)
        return
    yield from read_flows(path)


def inspect_saved(inspector: Inspector, saved: SavedRequest) -> Inspection | None:
    """Route and inspect one saved request; None for non-AI hosts without a body."""
    capture = saved.capture
    route = inspector.route(capture.host, capture.path)
    if route is None:
        if not capture.body:
            return None
        route = Route("", "auto")  # not in the catalog: still show what it carried
    return inspector.inspect(capture, route)


CREDENTIAL_FIELD = re.compile(
    r"(?i)^(?:x[-_])?(?:api[-_]?key|apikey|access[-_]?token|auth(?:orization)?|auth[-_]?token|"
    r"bearer|token|id[-_]?token|refresh[-_]?token|session[-_]?(?:id|token)|password|passwd|"
    r"secret|client[-_]?secret|private[-_]?key|cookie)$"
)
"""JSON keys whose string is the request's own credential (Windsurf's ``metadata.api_key``)."""
HIDDEN = "[credential field: not shown]"


def credential_field(origin: JsonPath) -> bool:
    """True when a segment's JSON path ends at a credential-named key."""
    last = next((part for part in reversed(origin) if isinstance(part, str)), None)
    return last is not None and bool(CREDENTIAL_FIELD.match(last))


def _finding_json(finding: Finding) -> dict[str, Any]:
    return {"segment": finding.segment_index, **finding_json(finding)}


def entry_json(
    file: str, saved: SavedRequest, inspection: Inspection, texts: bool
) -> dict[str, Any]:
    """The ``scan --har --json`` object of one entry; texts only with findings masked."""
    findings = inspection.event.findings
    segments = []
    for number, segment in enumerate(inspection.extraction.segments):
        row: dict[str, Any] = {
            "index": number,
            "role": segment.role,
            "message_index": segment.message_index,
            "path_hint": segment.path_hint,
            "length": len(segment.text),
        }
        if texts:  # never a credential field in clear, whether or not a rule knows its format
            row["text"] = (
                HIDDEN
                if credential_field(segment.origin)
                else redact_text(segment.text, [f for f in findings if f.segment_index == number])
            )
        segments.append(row)
    return {
        "path": file,
        "entry": saved.entry,
        **({"message": saved.message} if saved.message is not None else {}),
        "method": saved.capture.method,
        "host": saved.capture.host,
        "url_path": saved.capture.path.split("?", 1)[0],
        "service": inspection.route.service_id or None,
        "family": inspection.route.family,
        "telemetry": inspection.route.telemetry,
        "uninspected_reason": inspection.extraction.uninspected_reason,
        "segments": segments,
        "findings": [_finding_json(f) for f in findings],
    }

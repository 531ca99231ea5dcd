"""``multipart/form-data`` uploads (OpenAI / Anthropic files, Copilot attachments).

Text parts are scanned whole; JSONL parts (batch inputs) are read line by line with the
body-shape sniffer; binary parts (images, PDFs, archives) are skipped.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from egress_watch.decoding import jsonsafe
from egress_watch.decoding.charset import forgiving_text
from egress_watch.model import Segment

_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)
_DISPOSITION = re.compile(r'(\w+)="([^"]*)"')
TEXT_TYPES = ("text/", "application/json", "application/jsonl", "application/x-ndjson")

Sniffer = Callable[[Any], list[Segment]]


def boundary_of(body: bytes, content_type: str | None) -> str | None:
    """The boundary from the Content-Type, else from the body's first line."""
    if content_type and (match := _BOUNDARY.search(content_type)):
        return match.group(1)
    first = body.split(b"\r\n", 1)[0]
    if first.startswith(b"--") and 2 < len(first) <= 72 and b" " not in first:
        return first[2:].decode("latin-1")
    return None


def _parts(body: bytes, boundary: str) -> list[tuple[dict[str, str], bytes]]:
    delimiter = b"--" + boundary.encode("latin-1")
    parts = []
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break  # closing delimiter
        head, separator, content = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not separator:
            continue  # no header block: not a MIME part
        headers = {}
        for line in head.decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        parts.append((headers, content.removesuffix(b"\r\n")))
    return parts


def _text_of(headers: dict[str, str], content: bytes) -> str | None:
    kind = headers.get("content-type", "").lower()
    if kind and not kind.startswith(TEXT_TYPES):
        return None
    return forgiving_text(content, headers.get("content-type"))  # None: an untyped binary file


def _jsonl(
    text: str, where: tuple[str | int, ...], hint: str | None, sniff: Sniffer
) -> list[Segment]:
    segments: list[Segment] = []
    for line_no, line in enumerate(text.splitlines()):
        if not line.strip():
            continue
        try:
            document = jsonsafe.loads(line)
        except ValueError:
            return []  # not JSONL after all: the caller keeps the whole text
        for s in sniff(document):
            segments.append(
                Segment(
                    s.role,
                    s.text,
                    (*where, line_no, *s.origin),
                    s.message_index,
                    s.path_hint or hint,
                )
            )
    return segments


def extract_multipart(
    body: bytes, content_type: str | None, sniff: Sniffer
) -> list[Segment] | None:
    """Segments of every text part, or None when the body is not multipart at all."""
    boundary = boundary_of(body, content_type)
    if boundary is None:
        return None
    parts = _parts(body, boundary)
    if not parts:
        return None
    segments: list[Segment] = []
    for part_no, (headers, content) in enumerate(parts):
        disposition = dict(_DISPOSITION.findall(headers.get("content-disposition", "")))
        hint = disposition.get("filename") or None
        text = _text_of(headers, content)
        if not text:
            continue
        where: tuple[str | int, ...] = ("part", part_no)
        lines = _jsonl(text, where, hint, sniff) if text.lstrip().startswith("{") else []
        segments += lines or [Segment("file" if hint else "form", text, where, None, hint)]
    return segments

"""Connect / gRPC / gRPC-web message framing: ``[flags:1][length:4 big-endian][payload]``.

Flag 0x01 marks a payload compressed with the stream's message encoding (gzip in practice;
the header naming it is not always at hand, so the payload's magic bytes decide). Flag 0x02
(Connect) or 0x80 (gRPC-web) marks an end-of-stream trailer, which carries no prompt text.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from egress_watch.decoding.encoding import decode_body

COMPRESSED = 0x01
TRAILERS = frozenset({0x02, 0x80, 0x82, 0x03})
_HEADER = struct.Struct(">BI")
_KNOWN_FLAGS = frozenset({0x00, COMPRESSED}) | TRAILERS


@dataclass(frozen=True, slots=True)
class Unframed:
    """The decoded message payloads of a body, and why some could not be read."""

    messages: tuple[bytes, ...]
    reason: str | None = None


def looks_enveloped(body: bytes) -> bool:
    """True when the body starts with a plausible envelope whose length fits the body."""
    if len(body) < _HEADER.size:
        return False
    flags, length = _HEADER.unpack_from(body)
    return flags in _KNOWN_FLAGS and length <= len(body) - _HEADER.size


def _encoding_of(payload: bytes) -> str:
    if payload.startswith(b"\x1f\x8b"):
        return "gzip"
    if payload.startswith(b"\x28\xb5\x2f\xfd"):
        return "zstd"
    return "deflate"


def unframe(body: bytes, limit: int) -> Unframed:
    """Split ``body`` into envelopes and decompress flagged payloads, each within ``limit``."""
    messages: list[bytes] = []
    offset, total = 0, 0
    while offset < len(body):
        if len(body) - offset < _HEADER.size:
            return Unframed(tuple(messages), f"truncated envelope header at byte {offset}")
        flags, length = _HEADER.unpack_from(body, offset)
        start = offset + _HEADER.size
        if flags not in _KNOWN_FLAGS:
            return Unframed(tuple(messages), f"unknown envelope flags 0x{flags:02x}")
        if start + length > len(body):
            return Unframed(
                tuple(messages),
                f"truncated envelope: {length} bytes announced, {len(body) - start} present",
            )
        payload = body[start : start + length]
        offset = start + length
        if flags in TRAILERS:
            continue
        if flags & COMPRESSED:
            decoded = decode_body(payload, _encoding_of(payload), limit - total)
            if decoded.body is None:
                return Unframed(tuple(messages), f"envelope {len(messages)}: {decoded.reason}")
            payload = decoded.body
        total += len(payload)
        messages.append(payload)
    return Unframed(tuple(messages))

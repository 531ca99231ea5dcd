"""Binary bodies: Connect / gRPC envelopes and bare protobuf (Cursor, Windsurf), schema-less."""

from __future__ import annotations

from egress_watch.extract.envelopes import looks_enveloped, unframe
from egress_watch.extract.protobuf import walk
from egress_watch.model import Segment

DEFAULT_LIMIT = 32 * 2**20


def _segments(messages: tuple[bytes, ...]) -> tuple[list[Segment], str | None]:
    segments: list[Segment] = []
    for frame_no, message in enumerate(messages):
        try:
            strings = walk(message)
        except ValueError:
            return segments, f"message {frame_no} ({len(message)} bytes) is not protobuf"
        segments += [
            Segment("other", s.text, ("frame", frame_no, *s.path), frame_no, s.path_hint)
            for s in strings
        ]
    return segments, None


def extract_protobuf(body: bytes, limit: int = DEFAULT_LIMIT) -> tuple[list[Segment], str | None]:
    """Strings of an enveloped stream or a bare message, and the reason for what was unread."""
    if looks_enveloped(body):
        unframed = unframe(body, limit)
        segments, reason = _segments(unframed.messages)
        if unframed.reason or reason:
            problem = "; ".join(r for r in (unframed.reason, reason) if r)
            return segments, f"{len(body)}-byte enveloped body partly unreadable: {problem}"
        return segments, None
    segments, reason = _segments((body,))
    if reason:
        return [], f"{len(body)}-byte binary body is neither JSON, text nor protobuf"
    return segments, None

"""Bodies that must flow while they are read: streamed RPC requests (pure helpers).

Cursor and Windsurf speak Connect / gRPC over HTTP/2, where a request body can stay open for a
whole conversation: buffering it would stall the tool. Such bodies are forwarded chunk by chunk
and copied, up to a limit, for inspection once the request ends.
"""

from __future__ import annotations

STREAMING_CONTENT_TYPES = (
    "application/connect+",
    "application/grpc",
)


def is_streaming_rpc(content_type: str | None) -> bool:
    """True for Connect streaming and gRPC / gRPC-web bodies, which may be bidirectional."""
    lowered = (content_type or "").lower()
    return lowered.startswith(STREAMING_CONTENT_TYPES)


class BodyTee:
    """A mitmproxy stream callable: forwards every chunk unchanged and keeps a bounded copy."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.size = 0
        self._buffer = bytearray()

    def __call__(self, chunk: bytes) -> bytes:
        self.size += len(chunk)
        if self.size <= self.limit:
            self._buffer += chunk
        return chunk

    @property
    def truncated(self) -> bool:
        return self.size > self.limit

    def body(self) -> bytes | None:
        """The whole body, or None when it outgrew the limit (and was not kept)."""
        return None if self.truncated else bytes(self._buffer)

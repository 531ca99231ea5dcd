"""Undo Content-Encoding with a hard cap on the output, so a compression bomb costs nothing."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import brotli

try:  # Python 3.14 ships zstd; mitmproxy brings the backport before that.
    from compression import zstd  # type: ignore[import-not-found,unused-ignore]
except ImportError:  # pragma: no cover - depends on the Python version
    from backports import zstd  # type: ignore[no-redef,unused-ignore]


@dataclass(frozen=True, slots=True)
class Decoded:
    """The decoded body, or the reason it could not be decoded within the limit."""

    body: bytes | None
    reason: str | None = None


class _TooLarge(Exception):
    pass


def _zlib(data: bytes, wbits: int, limit: int) -> bytes:
    decompressor = zlib.decompressobj(wbits)
    out = decompressor.decompress(data, limit + 1)
    if len(out) > limit:
        raise _TooLarge
    return out + decompressor.flush()


def _brotli(data: bytes, limit: int) -> bytes:
    decompressor = brotli.Decompressor()
    out = decompressor.process(data, output_buffer_limit=limit + 1)
    if len(out) > limit or not decompressor.is_finished():
        if len(out) > limit:
            raise _TooLarge
        raise ValueError("truncated brotli stream")
    return bytes(out)


def _zstd(data: bytes, limit: int) -> bytes:
    decompressor = zstd.ZstdDecompressor()
    out: bytes = decompressor.decompress(data, max_length=limit + 1)
    if len(out) > limit:
        raise _TooLarge
    return out


def _decode_one(data: bytes, encoding: str, limit: int) -> bytes:
    if encoding in ("gzip", "x-gzip"):
        return _zlib(data, 16 + zlib.MAX_WBITS, limit)
    if encoding == "deflate":
        try:
            return _zlib(data, zlib.MAX_WBITS, limit)
        except zlib.error:
            return _zlib(data, -zlib.MAX_WBITS, limit)  # raw deflate, as some clients send
    if encoding == "br":
        return _brotli(data, limit)
    if encoding == "zstd":
        return _zstd(data, limit)
    raise ValueError(f"unsupported content-encoding {encoding!r}")


def decode_body(raw: bytes, content_encoding: str | None, limit: int) -> Decoded:
    """Decode ``raw`` per its Content-Encoding (possibly a list), keeping the output <= limit."""
    if len(raw) > limit:
        return Decoded(None, f"body larger than the {limit // 2**20} MiB inspection limit")
    encodings = [e.strip().lower() for e in (content_encoding or "").split(",") if e.strip()]
    body = raw
    try:
        for encoding in reversed([e for e in encodings if e != "identity"]):
            body = _decode_one(body, encoding, limit)
    except _TooLarge:
        return Decoded(None, f"decompressed body exceeds the {limit // 2**20} MiB inspection limit")
    except (zlib.error, brotli.error, zstd.ZstdError, ValueError) as error:
        return Decoded(None, f"cannot decode {content_encoding} body: {type(error).__name__}")
    return Decoded(body)

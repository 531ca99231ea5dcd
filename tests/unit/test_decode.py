"""Content-Encoding: every encoding mitmproxy knows, and bombs stopped at the limit."""

from __future__ import annotations

import gzip
import zlib

import brotli
import pytest

from egress_watch.decoding.encoding import decode_body, zstd

PLAIN = b'{"messages": [{"role": "user", "content": "hello"}]}' * 10


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda b: zlib.compress(b)[2:-4]),  # raw deflate
        ("br", brotli.compress),
        ("zstd", zstd.compress),
        ("identity", lambda b: b),
        (None, lambda b: b),
    ],
)
def test_round_trip(encoding: str | None, encode: object) -> None:
    assert decode_body(encode(PLAIN), encoding, 2**20).body == PLAIN  # type: ignore[operator]


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [("gzip", gzip.compress), ("br", brotli.compress), ("zstd", zstd.compress)],
)
def test_compression_bomb_is_uninspected(encoding: str, encode: object) -> None:
    bomb = encode(b"\0" * (8 * 2**20))  # type: ignore[operator]
    decoded = decode_body(bomb, encoding, 2**20)
    assert decoded.body is None
    assert decoded.reason is not None
    assert "exceeds" in decoded.reason


def test_corrupt_body_gives_a_reason() -> None:
    decoded = decode_body(b"not gzip at all", "gzip", 2**20)
    assert decoded.body is None
    assert decoded.reason is not None
    assert "cannot decode gzip" in decoded.reason


def test_oversized_raw_body_is_uninspected() -> None:
    assert (
        decode_body(b"x" * 2048, None, 1024).reason == "body larger than the 0 MiB inspection limit"
    )

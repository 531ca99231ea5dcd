"""Connect / gRPC envelopes and the schema-less protobuf walk (Cursor, Windsurf bodies)."""

from __future__ import annotations

import gzip
import struct

import pytest

from egress_watch.extract import extract_body
from egress_watch.extract.envelopes import looks_enveloped, unframe
from egress_watch.extract.protobuf import walk
from tests.fixtures.wire.cases import envelope, pb

LIMIT = 1 << 20


def test_walk_returns_nested_strings_with_field_paths_and_file_hint() -> None:
    message = pb(1, pb(1, "src/a.py") + pb(2, "x = 1\ny = 2\n") + pb(3, 7)) + pb(4, "model-name")
    found = [(s.path, s.text, s.path_hint) for s in walk(message)]
    assert found == [
        ((1, 1), "src/a.py", None),
        ((1, 2), "x = 1\ny = 2\n", "src/a.py"),
        ((4,), "model-name", None),
    ]


@pytest.mark.parametrize(
    "noise",
    [
        "3f2b8c1e-9a4d-4e2f-b6c7-1d2e3f4a5b6c",
        "3f2b8c1e9a4d4e2fb6c71d2e3f4a5b6c",
        "0123456789abcdef0123456789abcdef01234567",
        "QUJD" * 40,
    ],
)
def test_ids_hashes_and_base64_are_skipped(noise: str) -> None:
    assert [s.text for s in walk(pb(1, noise) + pb(2, "kept text"))] == ["kept text"]


def test_non_protobuf_raises_value_error() -> None:
    with pytest.raises(ValueError, match="not a protobuf message"):
        walk(b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff")


@pytest.mark.parametrize(("levels", "expected"), [(20, ["deep text"]), (500, [])])
def test_nesting_is_followed_to_a_bound(levels: int, expected: list[str]) -> None:
    """Beyond MAX_DEPTH the walk stops instead of recursing until the stack ends."""
    message = pb(1, "deep text")
    for _ in range(levels):
        message = pb(1, message)
    assert [s.text for s in walk(message)] == expected


def test_unframe_gzip_and_plain_envelopes_and_skips_trailers() -> None:
    trailer = struct.pack(">BI", 2, 2) + b"{}"
    body = envelope(pb(1, "one")) + envelope(pb(1, "two"), compress=True) + trailer
    assert looks_enveloped(body)
    assert unframe(body, LIMIT).messages == (pb(1, "one"), pb(1, "two"))


def test_truncated_envelope_keeps_what_was_read_and_says_why() -> None:
    body = envelope(pb(1, "complete")) + struct.pack(">BI", 0, 100) + b"short"
    unframed = unframe(body, LIMIT)
    assert unframed.messages == (pb(1, "complete"),)
    assert unframed.reason == "truncated envelope: 100 bytes announced, 5 present"


def test_compression_bomb_in_an_envelope_is_refused() -> None:
    bomb = gzip.compress(b"\x00" * (8 * LIMIT))
    body = struct.pack(">BI", 1, len(bomb)) + bomb
    unframed = unframe(body, LIMIT)
    assert unframed.messages == ()
    assert unframed.reason is not None
    assert "exceeds" in unframed.reason


def test_connect_body_with_a_bad_frame_is_partly_uninspected() -> None:
    body = envelope(pb(1, "readable")) + struct.pack(">BI", 0, 4) + b"\xff\xff\xff\xff"
    extraction = extract_body(body, "connect-proto")
    assert [s.text for s in extraction.segments] == ["readable"]
    assert extraction.uninspected_reason == (
        f"{len(body)}-byte enveloped body partly unreadable: message 1 (4 bytes) is not protobuf"
    )
    assert not extraction.rewritable


def test_bare_protobuf_unary_body() -> None:
    extraction = extract_body(pb(2, "unary text"), "connect-proto", "application/proto")
    assert [(s.role, s.text, s.origin) for s in extraction.segments] == [
        ("other", "unary text", ("frame", 0, 2))
    ]


def test_connect_json_body_is_read_as_json() -> None:
    extraction = extract_body(b'{"prompt": "json over connect"}', "connect-proto")
    assert [s.text for s in extraction.segments] == ["json over connect"]


def test_undecodable_binary_is_uninspected_with_size() -> None:
    body = b"\xff\xfe" + bytes(range(200, 256)) * 3
    extraction = extract_body(body, "connect-proto")
    assert extraction.segments == ()
    assert extraction.uninspected_reason == (
        f"{len(body)}-byte binary body is neither JSON, text nor protobuf"
    )

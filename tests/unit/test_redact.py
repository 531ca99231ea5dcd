"""Masks and fingerprints: the only way a value is kept; stable per install, different across."""

from __future__ import annotations

import pytest

from egress_watch.masking import fingerprint, mask, short_fingerprint


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("AKIA" + "Q3EXT7PLN2ZRW5YB", "AKIA…W5YB (20 chars)"),
        ("abcdefghijklmnop", "ab…op (16 chars)"),
        ("abcdefghijklmn", "…(14 chars)"),
        ("hunter2", "…(7 chars)"),
    ],
)
def test_mask_shows_shape_not_content(value: str, expected: str) -> None:
    assert mask(value) == expected


def test_fingerprint_is_keyed_stable_and_normalized() -> None:
    value = "s3cr3t-" + "value-1234"
    assert fingerprint(b"k1" * 16, value) == fingerprint(b"k1" * 16, f' "{value}" ')
    assert fingerprint(b"k1" * 16, value) != fingerprint(b"k2" * 16, value)
    assert fingerprint(b"k1" * 16, value).startswith("hmac-sha256:")
    assert value not in fingerprint(b"k1" * 16, value)
    assert len(short_fingerprint(fingerprint(b"k1" * 16, value))) == 4

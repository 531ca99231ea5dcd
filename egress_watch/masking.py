"""Masked previews and keyed fingerprints: the only forms in which a finding is kept or shown."""

from __future__ import annotations

import hashlib
import hmac

FINGERPRINT_PREFIX = "hmac-sha256:"


def normalize_value(value: str) -> str:
    """Strip quoting and surrounding whitespace so the same secret always hashes the same."""
    return value.strip().strip("\"'`").strip()


def fingerprint(key: bytes, value: str) -> str:
    """Return the per-install HMAC-SHA256 of the normalized value, tagged with its algorithm."""
    digest = hmac.new(key, normalize_value(value).encode("utf-8"), hashlib.sha256).hexdigest()
    return FINGERPRINT_PREFIX + digest


def short_fingerprint(fp: str) -> str:
    """Four hex digits of a fingerprint, enough to tell findings apart in a placeholder."""
    return fp.removeprefix(FINGERPRINT_PREFIX)[:4]


MIN_SHOWN = 16  # shorter values show no character at all


def hidden(value: str) -> str:
    """A preview with no character of the value: ``…(9 chars)``."""
    return f"…({len(value)} chars)"


def mask(value: str) -> str:
    """Show a value's shape without its content: ``AKIA…MPLE (20 chars)``.

    Values under 16 characters show nothing at all, because four characters of an
    eight-character password are half of it.
    """
    length = len(value)
    if length >= 20:
        shown = 4
    elif length >= MIN_SHOWN:
        shown = 2
    else:
        return hidden(value)
    return f"{value[:shown]}…{value[-shown:]} ({length} chars)"

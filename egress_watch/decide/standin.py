"""Format-preserving stand-ins: an ``AKIA…`` of the same shape that is not the key (pure).

A stand-in keeps the value's vendor prefix, length and character classes, so code and configs
the model writes around it still look right. Its last characters are a keyed tag over the rest
(per-install key), so the scanner can tell its own stand-ins from real values and never
reports them, even after a restart, while nobody without the key can forge or invert one.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import string
from collections.abc import Iterator

TAG_CHARS = 6
MIN_BODY = TAG_CHARS + 6
"""Shorter values get the bracketed placeholder: a short tag would match real values."""

MAX_VALUE = 512
_PREFIX = re.compile(r"^(?:[A-Za-z0-9]{1,12}[_-]){1,4}|^(?:AKIA|ASIA|AIza|AGPA|AIDA|AROA)")
_HEX_LOWER = frozenset("0123456789abcdef")
_HEX_UPPER = frozenset("0123456789ABCDEF")


def _alphabet(char: str, hex_case: str | None) -> str | None:
    """The class a character is drawn from; None for punctuation, which is kept."""
    if hex_case == "lower":
        return "0123456789abcdef"
    if hex_case == "upper":
        return "0123456789ABCDEF"
    if char.isascii() and char.isdigit():
        return string.digits
    if char.isascii() and char.islower():
        return string.ascii_lowercase
    if char.isascii() and char.isupper():
        return string.ascii_uppercase
    return None


def _hex_case(body: str) -> str | None:
    chars = {c for c in body if c.isalnum()}
    if chars and chars <= _HEX_LOWER and chars - set(string.digits):
        return "lower"
    if chars and chars <= _HEX_UPPER and chars - set(string.digits):
        return "upper"
    return None


def _split(value: str) -> tuple[str, str]:
    found = _PREFIX.match(value)
    prefix = found.group(0) if found and len(found.group(0)) < len(value) // 2 else ""
    return prefix, value[len(prefix) :]


def _stream(key: bytes, *parts: str) -> Iterator[int]:
    """An endless keyed byte stream (HMAC-SHA256 in counter mode)."""
    seed = "\0".join(parts).encode()
    counter = 0
    while True:
        yield from hmac.new(key, seed + counter.to_bytes(4, "big"), hashlib.sha256).digest()
        counter += 1


def _draw(alphabet: str, stream: Iterator[int]) -> str:
    return alphabet[next(stream) % len(alphabet)]


def _tag_positions(value: str, prefix: str) -> list[int] | None:
    body = value[len(prefix) :]
    positions = [len(prefix) + i for i, c in enumerate(body) if _alphabet(c, None) is not None]
    return positions[-TAG_CHARS:] if len(positions) >= MIN_BODY else None


def _tagged(key: bytes, chars: list[str], positions: list[int], hex_case: str | None) -> str:
    head = "".join(c for i, c in enumerate(chars) if i not in positions)
    stream = _stream(key, "egress-watch stand-in tag", head)
    for i in positions:
        alphabet = _alphabet(chars[i], hex_case)
        assert alphabet is not None
        chars[i] = _draw(alphabet, stream)
    return "".join(chars)


def stand_in(key: bytes, value: str, attempt: int = 0) -> str | None:
    """A stand-in of ``value``'s shape; None when the value is too short to carry a tag, or
    multi-line or long (a private key block): those get the bracketed placeholder."""
    if "\n" in value or len(value) > MAX_VALUE:
        return None
    prefix, body = _split(value)
    positions = _tag_positions(value, prefix)
    if positions is None:
        return None
    hex_case = _hex_case(body)
    stream = _stream(key, "egress-watch stand-in", value, str(attempt))
    chars = list(prefix)
    for char in body:
        alphabet = _alphabet(char, hex_case)
        chars.append(char if alphabet is None else _draw(alphabet, stream))
    made = _tagged(key, chars, positions, hex_case)
    return made if made != value else stand_in(key, value, attempt + 1)


def is_stand_in(key: bytes, value: str) -> bool:
    """True when ``value`` carries a valid tag: egress-watch made it, it is not a secret."""
    prefix, _body = _split(value)
    positions = _tag_positions(value, prefix)
    if positions is None:
        return False
    # A hex stand-in may happen to draw digits only: check each alphabet it could come from.
    return any(
        _tagged(key, list(value), positions, case) == value for case in (None, "lower", "upper")
    )

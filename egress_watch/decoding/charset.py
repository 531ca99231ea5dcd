"""Bytes to text, forgivingly: a declared charset is honoured and a bad byte never hides the
text around it (pure).

Each undecodable byte becomes one U+FFFD, so offsets into the decoded text stay meaningful
and a secret next to a stray byte is still found.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from email.message import Message

DEFAULT_CHARSET = "utf-8"


@dataclass(frozen=True, slots=True)
class BodyText:
    """The decoded text, the codec used and whether the decoding lost bytes."""

    text: str
    charset: str = DEFAULT_CHARSET
    lossy: bool = False


def declared_charset(content_type: str | None) -> str | None:
    """The ``charset=`` parameter of a Content-Type, as a known codec name, or None."""
    if not content_type or "charset" not in content_type.lower():
        return None
    message = Message()
    message["content-type"] = content_type
    name = message.get_content_charset()
    if not name:
        return None
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


# Byte-order marks, longest first (UTF-32 LE starts like UTF-16 LE).
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def sniffed_charset(body: bytes) -> str | None:
    """The codec a byte-order mark names (its codec strips the mark and writes it back)."""
    return next((name for bom, name in _BOMS if body.startswith(bom)), None)


def decode_text(body: bytes, content_type: str | None = None) -> BodyText:
    """Decode with the declared charset, else the byte-order mark's, else UTF-8; replace what
    is invalid."""
    declared = declared_charset(content_type)
    if declared:
        return _forgiving(body, declared)
    sniffed = sniffed_charset(body)
    if sniffed:
        try:
            return BodyText(body.decode(sniffed), sniffed)
        except UnicodeDecodeError:
            pass  # a mark that does not decode was never a mark
    return _forgiving(body, DEFAULT_CHARSET)


def _forgiving(body: bytes, charset: str) -> BodyText:
    try:
        return BodyText(body.decode(charset), charset)
    except UnicodeDecodeError:
        return BodyText(body.decode(charset, errors="replace"), charset, lossy=True)


BINARY_SHARE = 0.1
"""A body with more than this share of undecodable bytes (or any NUL) is binary, not text."""


def is_mostly_binary(decoded: BodyText) -> bool:
    """True when the replaced characters say the body is binary data, not text with a bad byte."""
    if not decoded.lossy:
        return False
    replaced = decoded.text.count("\ufffd")
    return "\x00" in decoded.text or replaced > BINARY_SHARE * max(1, len(decoded.text))


def forgiving_text(data: bytes, content_type: str | None = None) -> str | None:
    """Text of a declared-text payload (an inline document), a stray bad byte replaced; None
    when it is really binary."""
    decoded = decode_text(data, content_type)
    return None if is_mostly_binary(decoded) else decoded.text

"""Schema-less protobuf reading: the UTF-8 string fields of a message and its sub-messages.

Cursor and Windsurf field numbers are private and drift, so nothing here knows a schema. A
length-delimited field is read as a sub-message when it parses completely as one, otherwise
as text when it is valid UTF-8; ids, hashes and base64 blobs are skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_DEPTH = 24
_UUID = re.compile(
    r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"
)
_HEX = re.compile(r"^[0-9a-fA-F]{24,}$")
_BASE64 = re.compile(r"^[A-Za-z0-9+/_-]{128,}={0,2}$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_FILE_PATH = re.compile(r"^[\w@~.+/\\-]*[\w-]\.[A-Za-z0-9]{1,10}$")


@dataclass(frozen=True, slots=True)
class ProtoString:
    """A string field: its field-number path from the root and, if a sibling names one, a file."""

    path: tuple[int, ...]
    text: str
    path_hint: str | None = None


class _Invalid(Exception):
    pass


def _varint(data: bytes, offset: int) -> tuple[int, int]:
    value, shift = 0, 0
    while offset < len(data) and shift < 64:
        byte = data[offset]
        value |= (byte & 0x7F) << shift
        offset += 1
        if not byte & 0x80:
            return value, offset
        shift += 7
    raise _Invalid


def _fields(data: bytes) -> list[tuple[int, bytes | None]]:
    """(field number, payload) per field; payload None for scalars. Raises _Invalid."""
    fields: list[tuple[int, bytes | None]] = []
    offset = 0
    while offset < len(data):
        key, offset = _varint(data, offset)
        number, wire = key >> 3, key & 7
        if number == 0 or number > 536_870_911:
            raise _Invalid
        if wire == 0:
            _, offset = _varint(data, offset)
            fields.append((number, None))
        elif wire in (1, 5):
            offset += 8 if wire == 1 else 4
            fields.append((number, None))
        elif wire == 2:
            length, offset = _varint(data, offset)
            if offset + length > len(data):
                raise _Invalid
            fields.append((number, data[offset : offset + length]))
            offset += length
        else:
            raise _Invalid  # groups (3, 4) and reserved wire types: not a message we read
    if offset != len(data):
        raise _Invalid
    return fields


def _as_text(payload: bytes) -> str | None:
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return None if _CONTROL.search(text) else text


def _skipped(text: str) -> bool:
    """Ids, digests and base64 blobs carry no prompt text."""
    stripped = text.strip()
    return not stripped or bool(
        _UUID.match(stripped) or _HEX.match(stripped) or _BASE64.match(stripped)
    )


def _message(payload: bytes) -> list[tuple[int, bytes | None]] | None:
    try:
        fields = _fields(payload)
    except _Invalid:
        return None
    return fields or None


def walk(data: bytes, path: tuple[int, ...] = (), depth: int = 0) -> list[ProtoString]:
    """Every readable string in the message ``data``; raises ValueError if it is not one."""
    fields = _message(data) if data else []
    if fields is None:
        raise ValueError("not a protobuf message")
    return _walk_fields(fields, path, depth)


def _walk_fields(
    fields: list[tuple[int, bytes | None]], path: tuple[int, ...], depth: int
) -> list[ProtoString]:
    """Strings of an already parsed message: each sub-message is parsed once."""
    found: list[ProtoString] = []
    own: list[int] = []  # indexes in ``found`` of this message's own string fields
    for number, payload in fields:
        if payload is None or not payload:
            continue
        where = (*path, number)
        text = _as_text(payload)
        sub = _message(payload) if depth < MAX_DEPTH else None
        if sub is not None and (text is None or payload[0] < 0x20):
            found += _walk_fields(sub, where, depth + 1)
        elif text is not None and not _skipped(text):
            own.append(len(found))
            found.append(ProtoString(where, text))
    hint = next((found[i].text for i in own if _is_file_path(found[i].text)), None)
    for i in own if hint else ():
        if "\n" in found[i].text:
            found[i] = ProtoString(found[i].path, found[i].text, hint)
    return found


def _is_file_path(text: str) -> bool:
    return len(text) < 512 and _FILE_PATH.match(text) is not None

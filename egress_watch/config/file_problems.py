"""Where a config file goes wrong, in words: the line, the key written there, the problem (pure).

tomllib and the UTF-8 decoder report byte offsets or bare positions; a user wants to be told
which key of which table to fix.
"""

from __future__ import annotations

import re
import tomllib

_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")


def key_at(lines: list[str], line_no: int) -> str:
    """``table.key`` written on line ``line_no`` (1-based), or "" when that line has none."""
    if not 0 < line_no <= len(lines):
        return ""
    table = ""
    for earlier in lines[: line_no - 1]:
        stripped = earlier.strip()
        if stripped.startswith("["):
            table = stripped.strip("[]").strip() + "."
    line = lines[line_no - 1]
    if "=" not in line or line.lstrip().startswith("#"):
        return ""
    name = line.split("=", 1)[0].strip()
    return f"{table}{name}" if name else ""


def not_utf8(data: bytes, error: UnicodeDecodeError) -> str:
    """Say where a config file stops being UTF-8: the key there, line, column and the byte."""
    line_no = data[: error.start].count(b"\n") + 1
    column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
    key = key_at(data.decode("utf-8", "replace").split("\n"), line_no)
    where = f"key {key}, " if key else ""
    return (
        f"{where}line {line_no}, column {column}: byte 0x{data[error.start]:02x} is not UTF-8 "
        "text; save the file as UTF-8"
    )


def not_toml(text: str, error: tomllib.TOMLDecodeError) -> str:
    """tomllib's message, with the key on the line it names."""
    found = _POSITION.search(str(error))
    key = key_at(text.split("\n"), int(found.group(1))) if found else ""
    return f"not valid TOML: {f'key {key}: ' if key else ''}{error}"

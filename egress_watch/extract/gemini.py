"""Gemini bodies (API key, Vertex, cachedContents, embeddings) and the Code Assist wrapper.

Google's JSON parsers accept lowerCamelCase and the proto's snake_case names, so both are read.
``inlineData`` of a text mime type is base64 source code: it is decoded and scanned.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from egress_watch.decoding.charset import forgiving_text
from egress_watch.extract.generic import leaf_segments, text_segment
from egress_watch.extract.hints import hint_from_mapping
from egress_watch.extract.openai import tool_definitions
from egress_watch.model import JsonPath, Segment

TEXT_MIME_PREFIXES = ("text/", "application/json", "application/x-", "application/xml")
MAX_INLINE_TEXT = 8 * 2**20


def field(node: dict[str, Any], camel: str) -> tuple[str, Any]:
    """The (key, value) of a field sent as camelCase or snake_case."""
    if camel in node:
        return camel, node[camel]
    snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in camel)
    return snake, node.get(snake)


UNTYPED_MIMES = frozenset({"", "application/octet-stream", "binary/octet-stream"})
"""Mime types that say nothing: the data is scanned when it decodes to printable text."""


def _printable(text: str) -> bool:
    return sum(c.isprintable() or c in "\n\r\t" for c in text[:4096]) >= 0.95 * min(len(text), 4096)


def decode_text_data(data: Any, mime: Any) -> str | None:
    """Decode base64 ``data`` when its mime type is textual (or untyped and the bytes are text);
    None for media and bad base64. Line breaks and the URL-safe alphabet are accepted."""
    if not isinstance(data, str) or len(data) > MAX_INLINE_TEXT * 4 // 3:
        return None
    kind = mime.lower().strip() if isinstance(mime, str) else ""
    untyped = kind in UNTYPED_MIMES
    if not untyped and not kind.startswith(TEXT_MIME_PREFIXES):
        return None
    compact = "".join(data.split())
    if "-" in compact or "_" in compact:
        compact = compact.replace("-", "+").replace("_", "/")
    compact += "=" * (-len(compact) % 4)
    try:
        raw = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return None
    text = forgiving_text(raw, mime if isinstance(mime, str) else None)
    return text if text is not None and (not untyped or _printable(text)) else None


def _part(
    part: Any, role: str, where: JsonPath, index: int, hints: dict[str, str]
) -> list[Segment]:
    if not isinstance(part, dict):
        return text_segment(role, part, where, index)
    if isinstance(part.get("text"), str):
        return text_segment(
            "assistant" if part.get("thought") else role, part["text"], (*where, "text"), index
        )
    key, inline = field(part, "inlineData")
    if isinstance(inline, dict):
        data_key, data = field(inline, "data")
        text = decode_text_data(data, field(inline, "mimeType")[1])
        return [Segment("file", text, (*where, key, data_key), index)] if text else []
    key, call = field(part, "functionCall")
    if isinstance(call, dict):
        args_key, args = field(call, "args")
        return leaf_segments(
            args, "tool_call", (*where, key, args_key), index, hint_from_mapping(args)
        )
    key, response = field(part, "functionResponse")
    if isinstance(response, dict):
        hint = hints.get(str(response.get("id") or response.get("name")))
        return leaf_segments(
            response.get("response"), "tool_result", (*where, key, "response"), index, hint
        )
    key, code = field(part, "executableCode")
    if isinstance(code, dict):
        return text_segment("tool_call", code.get("code"), (*where, key, "code"), index)
    key, result = field(part, "codeExecutionResult")
    if isinstance(result, dict):
        return text_segment("tool_result", result.get("output"), (*where, key, "output"), index)
    return []  # fileData references, thought signatures, video metadata


def _call_hints(contents: list[Any]) -> dict[str, str]:
    """functionCall id (or name) -> the file it named, for the matching functionResponse."""
    hints: dict[str, str] = {}
    for content in contents:
        for part in (content.get("parts") or ()) if isinstance(content, dict) else ():
            call = field(part, "functionCall")[1] if isinstance(part, dict) else None
            if isinstance(call, dict):
                hint = hint_from_mapping(field(call, "args")[1])
                if hint:
                    hints[str(call.get("id") or call.get("name"))] = hint
    return hints


def parts_segments(
    content: Any, role: str, where: JsonPath, index: int, hints: dict[str, str] | None = None
) -> list[Segment]:
    """A ``Content`` object (``{role, parts}``) or a bare string."""
    if isinstance(content, str):
        return text_segment(role, content, where, index)
    if not isinstance(content, dict):
        return []
    segments: list[Segment] = []
    for no, part in enumerate(content.get("parts") or ()):
        segments += _part(part, role, (*where, "parts", no), index, hints or {})
    return segments


def generate_request(document: dict[str, Any], where: JsonPath = ()) -> list[Segment]:
    """generateContent / countTokens / cachedContents bodies."""
    key, system = field(document, "systemInstruction")
    segments = parts_segments(system, "system", (*where, key), -1)
    contents = document.get("contents")
    if isinstance(contents, dict):  # a single Content is accepted too
        contents = [contents]
    if isinstance(contents, list):
        hints = _call_hints(contents)
        for index, content in enumerate(contents):
            role = (
                "assistant"
                if isinstance(content, dict) and content.get("role") == "model"
                else "user"
            )
            segments += parts_segments(content, role, (*where, "contents", index), index, hints)
    tools_key, tools = field(document, "tools")  # functionDeclarations: names, descriptions
    if isinstance(tools, list):
        segments += tool_definitions(tools, (*where, tools_key))
    nested_key, nested = field(document, "generateContentRequest")  # countTokens variant
    if isinstance(nested, dict):
        segments += generate_request(nested, (*where, nested_key))
    return segments


def extract_gemini(document: Any) -> list[Segment]:
    """Any Gemini request body: generate, count, cache, embed, batch embed."""
    if not isinstance(document, dict):
        raise TypeError("not an object")
    segments = generate_request(document)
    segments += parts_segments(document.get("content"), "document", ("content",), -1)
    for no, request in enumerate(document.get("requests") or ()):
        if isinstance(request, dict):
            segments += generate_request(request, ("requests", no))
            segments += parts_segments(
                request.get("content"), "document", ("requests", no, "content"), no
            )
    if not segments and not ({"contents", "content", "requests"} & set(document)):
        raise ValueError("not a Gemini body")
    return segments


def extract_code_assist(document: Any) -> list[Segment]:
    """Gemini Code Assist (``cloudcode-pa``): the Gemini body sits under ``request``."""
    request = document["request"]
    if not isinstance(request, dict):
        raise TypeError("request is not an object")
    return generate_request(request, ("request",))

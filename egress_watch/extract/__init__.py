"""Turn a request body into the texts it carries, per API family (pure functions).

Adding a family is adding a module with one ``extract(document) -> list[Segment]`` function and
a row in ``EXTRACTORS``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from egress_watch.extract import anthropic, generic, openai
from egress_watch.model import Segment

JsonExtractor = Callable[[Any], list[Segment]]

EXTRACTORS: dict[str, JsonExtractor] = {
    "openai-chat": openai.extract_chat,
    "anthropic-messages": anthropic.extract_messages,
    "generic-json": generic.extract_strings,
}


@dataclass(frozen=True, slots=True)
class Extraction:
    """The segments found in a body, or why the body could not be read."""

    segments: tuple[Segment, ...]
    document: Any = None
    is_json: bool = False
    uninspected_reason: str | None = None


def known_families() -> list[str]:
    return sorted(EXTRACTORS)


def extract_body(body: bytes | None, family: str) -> Extraction:
    """Decode ``body`` and run the family's extractor; never raises on bad input."""
    if not body:
        return Extraction(())
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return Extraction((), uninspected_reason="body is not UTF-8 text")
    try:
        document = json.loads(text)
    except ValueError:
        # Not JSON: the whole body is the text that leaves.
        return Extraction((Segment("body", text),))
    extractor = EXTRACTORS.get(family, generic.extract_strings)
    try:
        segments = extractor(document)
    except (TypeError, ValueError, KeyError, AttributeError):
        # The body is JSON but not the shape the family promises: read every string instead.
        segments = generic.extract_strings(document)
    return Extraction(tuple(segments), document=document, is_json=True)

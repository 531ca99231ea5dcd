"""Extract: a decoded body and its API family in; the texts it carries (Segments) out (pure).

Adding a JSON family is adding a module with one ``extract(document) -> list[Segment]``
function and a row in ``EXTRACTORS``. Binary (Connect / gRPC / protobuf) and multipart bodies
are recognised by family, content type or their first bytes, before any JSON parsing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from egress_watch.decoding import jsonsafe
from egress_watch.decoding.charset import DEFAULT_CHARSET, BodyText, decode_text, is_mostly_binary
from egress_watch.decoding.jsonsafe import TooDeep
from egress_watch.extract import anthropic, aws, gemini, generic, openai, responses, wrappers
from egress_watch.extract.binary import extract_protobuf
from egress_watch.extract.hints import hint_from_text
from egress_watch.extract.multipart import extract_multipart
from egress_watch.model import Segment

JsonExtractor = Callable[[Any], list[Segment]]

EXTRACTORS: dict[str, JsonExtractor] = {
    "auto": wrappers.extract_auto,
    "generic-json": generic.extract_strings,
    "openai-chat": openai.extract_chat,
    "openai-responses": responses.extract_responses,
    "openai-completions": openai.extract_completions,
    "copilot-completions": openai.extract_copilot_completions,
    "openai-embeddings": openai.extract_embeddings,
    "anthropic-messages": anthropic.extract_messages,
    "gemini": gemini.extract_gemini,
    "gemini-code-assist": gemini.extract_code_assist,
    "bedrock-converse": aws.extract_converse,
    "bedrock-invoke": aws.extract_invoke,
    "amazon-q": aws.extract_amazon_q,
    "zed": wrappers.extract_zed,
    "cody": wrappers.extract_cody,
    "jetbrains": wrappers.extract_jetbrains,
    "tabnine": wrappers.extract_tabnine,
    "dashscope": wrappers.extract_dashscope,
}
# Families whose bodies are not JSON; read by extract_body before JSON parsing.
BINARY_FAMILIES = frozenset({"connect-proto"})
MULTIPART_FAMILIES = frozenset({"multipart"})
_BINARY_TYPES = (
    "application/connect+proto",
    "application/grpc",
    "application/proto",
    "application/x-protobuf",
    "application/protobuf",
)


@dataclass(frozen=True, slots=True)
class Extraction:
    """The segments found in a body, or why the body could not be read.

    ``rewritable`` is False when a segment's text is not literally the string at its origin
    (protobuf, multipart, base64-decoded text): redaction in flight cannot rewrite those,
    so the caller must block rather than forward such a body when it has to redact.
    """

    segments: tuple[Segment, ...]
    document: Any = None
    is_json: bool = False
    uninspected_reason: str | None = None
    rewritable: bool = True
    charset: str = DEFAULT_CHARSET
    """The codec the body's text was decoded with, so a rewritten body is encoded alike."""


def known_families() -> list[str]:
    return sorted({*EXTRACTORS, *BINARY_FAMILIES, *MULTIPART_FAMILIES})


def _with_text_hints(segments: list[Segment]) -> tuple[Segment, ...]:
    """Fill in path hints that the text itself gives (``# Path:`` headers and the like)."""
    return tuple(
        s if s.path_hint else dataclasses.replace(s, path_hint=hint_from_text(s.text))
        for s in segments
    )


def _at(document: Any, path: tuple[str | int, ...]) -> Any:
    for key in path:
        document = document[key]
    return document


def _rewritable(document: Any, segments: tuple[Segment, ...]) -> bool:
    """Every segment is exactly the JSON string at its origin, so rewrite.py can replace it."""
    try:
        return all(_at(document, s.origin) == s.text for s in segments)
    except (KeyError, IndexError, TypeError):
        return False


def _binary(body: bytes) -> Extraction:
    segments, reason = extract_protobuf(body)
    return Extraction(_with_text_hints(segments), uninspected_reason=reason, rewritable=False)


def _is_binary(family: str, content_type: str) -> bool:
    return family in BINARY_FAMILIES or content_type.startswith(_BINARY_TYPES)


def extract_body(body: bytes | None, family: str, content_type: str | None = None) -> Extraction:
    """Decode ``body`` and run the family's extractor; never raises on bad input."""
    if not body:
        return Extraction(())
    kind = (content_type or "").lower()
    if _is_binary(family, kind) and body[:64].lstrip()[:1] not in (b"{", b"["):
        return _binary(body)
    if family in MULTIPART_FAMILIES or kind.startswith("multipart/") or body.startswith(b"--"):
        segments = extract_multipart(body, content_type, wrappers.extract_auto)
        if segments is not None:
            return Extraction(_with_text_hints(segments), rewritable=False)
    decoded = decode_text(body, content_type)
    if decoded.lossy:
        extraction = _binary(body)
        if extraction.segments:
            return extraction
        if is_mostly_binary(decoded):
            # Scan the readable bits anyway, but say the body as a whole could not be read.
            plain = _plain(decoded, rewritable=False)
            reason = f"{len(body)}-byte body is not {_charset_label(decoded)} text or protobuf"
            return dataclasses.replace(plain, uninspected_reason=reason)
    try:
        document = jsonsafe.loads(decoded.text)
    except TooDeep:
        # Hostile nesting: scan the raw text; it cannot be rewritten as JSON in place.
        return _plain(decoded, rewritable=False)
    except ValueError:
        # Not JSON: the whole body is the text that leaves.
        return _plain(decoded, rewritable=not decoded.lossy)
    extraction = _json(document, family)
    if decoded.lossy:  # re-encoding would not give back the bytes that were replaced
        return dataclasses.replace(extraction, rewritable=False, charset=decoded.charset)
    return dataclasses.replace(extraction, charset=decoded.charset)


def _charset_label(decoded: BodyText) -> str:
    return "UTF-8" if decoded.charset == DEFAULT_CHARSET else decoded.charset


def _plain(decoded: BodyText, rewritable: bool) -> Extraction:
    segments = _with_text_hints([Segment("body", decoded.text)])
    return Extraction(segments, rewritable=rewritable, charset=decoded.charset)


def _json(document: Any, family: str) -> Extraction:
    extractor = EXTRACTORS.get(family, wrappers.extract_auto)
    try:
        segments = extractor(document)
    except openai.NothingToScan as nothing:
        return Extraction((), document, True, str(nothing), rewritable=True)
    except (TypeError, ValueError, KeyError, AttributeError, IndexError):
        # The body is JSON but not the shape the family promises: read every string instead.
        segments = generic.extract_strings(document)
    found = _with_text_hints(segments)
    return Extraction(found, document, True, rewritable=_rewritable(document, found))

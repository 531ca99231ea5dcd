"""Bodies that wrap or vary a known shape: Zed, Cody, JetBrains AI, Tabnine, DashScope native,
and the body-shape sniffer used for paths the catalog does not name ("auto").

Cody, JetBrains and Tabnine shapes are unverified in the reference: each reads the documented
fields and falls back to every readable string, so nothing is lost if the shape drifted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from egress_watch.extract import anthropic, aws, gemini, openai, responses
from egress_watch.extract.generic import extract_strings, leaf_segments, text_segment
from egress_watch.model import JsonPath, Segment

Extractor = Callable[[Any], list[Segment]]


def nested(extractor: Extractor, document: Any, prefix: JsonPath) -> list[Segment]:
    """Run ``extractor`` on a sub-document and re-root its segments' origins."""
    return [
        Segment(s.role, s.text, (*prefix, *s.origin), s.message_index, s.path_hint)
        for s in extractor(document)
    ]


def _looks_anthropic(document: dict[str, Any]) -> bool:
    if isinstance(document.get("system"), list) or "anthropic_version" in document:
        return True
    for message in document.get("messages") or ():
        content = message.get("content") if isinstance(message, dict) else None
        for block in content if isinstance(content, list) else ():
            if isinstance(block, dict) and block.get("type") in {"tool_use", "tool_result"}:
                return True
    return False


def sniff(document: Any) -> Extractor:
    """Pick an extractor from the body's shape (for unknown paths on catalog hosts)."""
    if not isinstance(document, dict):
        return extract_strings
    if "provider_request" in document:
        return extract_zed
    if isinstance(document.get("body"), dict) and "url" in document:
        return extract_batch_line
    if isinstance(document.get("request"), dict) and "contents" in document["request"]:
        return gemini.extract_code_assist
    if "conversationState" in document or "fileContext" in document:
        return aws.extract_amazon_q
    if "contents" in document:
        return gemini.extract_gemini
    if isinstance(document.get("messages"), list):
        if _looks_anthropic(document):
            return anthropic.extract_messages
        first = document["messages"][0] if document["messages"] else {}
        if isinstance(first, dict) and "speaker" in first:
            return extract_cody
        return openai.extract_chat
    if "input" in document and "model" in document and "encoding_format" in document:
        return openai.extract_embeddings
    if any(k in document for k in ("input", "instructions", "items")):
        return responses.extract_responses
    if "prompt" in document or "instances" in document:
        return openai.extract_completions
    return extract_strings


def extract_auto(document: Any) -> list[Segment]:
    return sniff(document)(document)


def extract_batch_line(document: Any) -> list[Segment]:
    """One line of an OpenAI batch input file: ``{custom_id, method, url, body}``."""
    return nested(extract_auto, document["body"], ("body",))


def extract_zed(document: Any) -> list[Segment]:
    """Zed cloud: ``provider_request`` is a whole vendor body; Zeta edit predictions otherwise."""
    inner = document.get("provider_request")
    if inner is not None:
        return nested(extract_auto, inner, ("provider_request",))
    segments = text_segment("file", document.get("input_excerpt"), ("input_excerpt",), -1)
    segments += text_segment(
        "prediction", document.get("speculated_output"), ("speculated_output",), -1
    )
    for key in ("input_events", "outline", "diagnostic_groups"):
        segments += leaf_segments(document.get(key), "context", (key,), -1)
    return segments


_CODY_ROLES = {"system": "system", "human": "user", "assistant": "assistant"}


def extract_cody(document: Any) -> list[Segment]:
    """Sourcegraph Cody ``/.api/completions/*``: ``messages[{speaker, text}]``."""
    segments: list[Segment] = []
    for index, message in enumerate(document["messages"]):
        role = _CODY_ROLES.get(message.get("speaker", ""), "other")
        segments += text_segment(role, message.get("text"), ("messages", index, "text"), index)
    return segments


_JETBRAINS_ROLES = {
    "system_message": "system",
    "user_message": "user",
    "assistant_message": "assistant",
    "tool_message": "tool_result",
}


def extract_jetbrains(document: Any) -> list[Segment]:
    """JetBrains AI (Grazie) chat: ``chat.messages[{type, content}]``; media messages skipped."""
    messages = document["chat"]["messages"]
    segments: list[Segment] = []
    for index, message in enumerate(messages):
        role = _JETBRAINS_ROLES.get(message.get("type", ""))
        if role is None:
            continue
        where: JsonPath = ("chat", "messages", index, "content")
        segments += leaf_segments(message.get("content"), role, where, index)
    return segments


def extract_tabnine(document: Any) -> list[Segment]:
    """Tabnine chat: ``input[{text, by, editorContext{fileCode, selectedCode}}]``."""
    segments: list[Segment] = []
    for index, turn in enumerate(document["input"]):
        role = "assistant" if turn.get("by") == "chat" else "user"
        segments += text_segment(role, turn.get("text"), ("input", index, "text"), index)
        context = turn.get("editorContext")
        if isinstance(context, dict):
            segments += leaf_segments(context, "file", ("input", index, "editorContext"), index)
    return segments


def extract_dashscope(document: Any) -> list[Segment]:
    """DashScope native generation: ``input.messages`` (OpenAI shape) or ``input.prompt``."""
    payload = document["input"]
    segments = text_segment("user", payload.get("prompt"), ("input", "prompt"), 0)
    if isinstance(payload.get("messages"), list):
        segments += openai.chat_messages(payload["messages"], ("input", "messages"))
    return segments

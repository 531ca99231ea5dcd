"""Extraction: the exact texts each family carries, with roles, message indexes and origins."""

from __future__ import annotations

import json

from egress_watch.extract import extract_body
from egress_watch.model import Segment


def body(document: object) -> bytes:
    return json.dumps(document).encode()


def test_openai_chat_messages_parts_tool_calls_and_results() -> None:
    document = {
        "model": "gpt-x",
        "messages": [
            {"role": "developer", "content": "be terse"},
            {"role": "user", "content": [
                {"type": "text", "text": "look at this"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
            ]},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "c1", "type": "function",
                 "function": {"name": "read", "arguments": "{\"path\": \"a.py\"}"}},
            ]},
            {"role": "tool", "tool_call_id": "c1", "content": "print('hi')"},
        ],
        "prediction": {"type": "content", "content": "predicted text"},
    }  # fmt: skip
    segments = extract_body(body(document), "openai-chat").segments
    assert [(s.role, s.text, s.message_index) for s in segments] == [
        ("system", "be terse", 0),
        ("user", "look at this", 1),
        ("tool_call", '{"path": "a.py"}', 2),
        ("tool_result", "print('hi')", 3),
        ("prediction", "predicted text", -1),
    ]
    assert segments[1].origin == ("messages", 1, "content", 0, "text")
    assert segments[2].origin == ("messages", 2, "tool_calls", 0, "function", "arguments")


def test_anthropic_system_blocks_tool_use_nested_tool_result_and_document() -> None:
    document = {
        "model": "claude-x",
        "system": [{"type": "text", "text": "you are a coder"}],
        "messages": [
            {"role": "user", "content": "hello"},
            {"role": "assistant", "content": [
                {"type": "text", "text": "reading"},
                {"type": "tool_use", "id": "t1", "name": "read", "input": {"path": "b.py"}},
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "t1", "content": [
                    {"type": "text", "text": "def f(): pass"},
                ]},
                {"type": "document", "source": {"type": "text", "media_type": "text/plain",
                                                "data": "doc text"}},
                {"type": "image", "source": {"type": "base64", "data": "AAAA"}},
            ]},
        ],
    }  # fmt: skip
    segments = extract_body(body(document), "anthropic-messages").segments
    assert [(s.role, s.text, s.message_index) for s in segments] == [
        ("system", "you are a coder", -1),
        ("user", "hello", 0),
        ("assistant", "reading", 1),
        ("tool_call", "b.py", 1),
        ("tool_result", "def f(): pass", 2),
        ("document", "doc text", 2),
    ]


def test_generic_walk_skips_blobs_and_media_keys() -> None:
    blob = "QUJD" * 200
    document = {"input": ["alpha", {"text": "beta"}], "data": "skipme", "image": blob}
    segments = extract_body(body(document), "generic-json").segments
    assert [s.text for s in segments] == ["alpha", "beta"]


def test_unexpected_shape_falls_back_to_every_string() -> None:
    segments = extract_body(body({"messages": "not a list of messages"}), "openai-chat").segments
    assert [s.text for s in segments] == ["not a list of messages"]


def test_plain_text_body_is_one_segment() -> None:
    assert extract_body(b"just text", "openai-chat").segments == (Segment("body", "just text"),)


def test_binary_body_is_uninspected_not_an_error() -> None:
    extraction = extract_body(b"\xff\xfe\x00binary", "openai-chat")
    assert extraction.uninspected_reason == "9-byte body is not UTF-8 text or protobuf"
    # The readable bytes are still scanned, and the body is never rewritten in place.
    assert [s.text for s in extraction.segments] == ["\ufffd\ufffd\x00binary"]
    assert not extraction.rewritable

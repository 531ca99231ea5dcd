"""Redaction rewrites exactly the finding spans inside the strings they came from."""

from __future__ import annotations

import json

from egress_watch.decide.rewrite import placeholder, redact_text, redacted_body
from egress_watch.extract import extract_body
from egress_watch.model import Category, Finding, Severity


def finding(start: int, end: int, segment: int = 0, rule: str = "r") -> Finding:
    return Finding(Category.SECRET, rule, Severity.HIGH, start, end, "m", "hmac-sha256:abcd1234",
                   segment_index=segment)  # fmt: skip


def test_redact_text_replaces_spans_and_merges_overlaps() -> None:
    text = "0123456789"
    assert redact_text(text, [finding(2, 4)]) == "01[REDACTED:r:abcd]456789"
    assert redact_text(text, [finding(2, 6), finding(3, 5)]) == "01[REDACTED:r:abcd]6789"
    assert redact_text(text, [finding(6, 8), finding(0, 1)]) == (
        "[REDACTED:r:abcd]12345[REDACTED:r:abcd]89"
    )


def test_placeholder_names_rule_and_short_fingerprint() -> None:
    assert placeholder(finding(0, 1, rule="aws-access-key")) == "[REDACTED:aws-access-key:abcd]"


def test_redacted_body_touches_only_the_string_with_the_finding() -> None:
    document = {
        "model": "m",
        "messages": [
            {"role": "system", "content": "SECRET stays here"},
            {"role": "user", "content": [{"type": "text", "text": "say SECRET \u00e9 now"}]},
        ],
    }
    extraction = extract_body(json.dumps(document).encode(), "openai-chat")
    user_index = next(i for i, s in enumerate(extraction.segments) if s.role == "user")
    start = extraction.segments[user_index].text.index("SECRET")
    body = redacted_body(extraction.document, extraction.segments,
                         [finding(start, start + 6, user_index)], extraction.is_json)  # fmt: skip
    sent = json.loads(body)
    assert sent["messages"][0]["content"] == "SECRET stays here"
    assert sent["messages"][1]["content"][0]["text"] == "say [REDACTED:r:abcd] \u00e9 now"
    assert sent["model"] == "m"


def test_plain_text_body_is_redacted_as_text() -> None:
    extraction = extract_body(b"token=abcdef", "generic-json")
    assert redacted_body(None, extraction.segments, [finding(6, 12)], False) == (
        b"token=[REDACTED:r:abcd]"
    )

"""Every API family on the wire: the exact texts extracted, their path hints, and what is not."""

from __future__ import annotations

import pytest

from egress_watch.catalog.services import builtin_catalog
from egress_watch.extract import extract_body
from tests.fixtures.wire.cases import CASES, WireCase, bearer, planted

IDS = [case.name for case in CASES]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_case_routes_to_its_family(case: WireCase) -> None:
    route = builtin_catalog().route(case.host, case.path)
    assert route is not None
    assert (route.service_id, route.family) == (case.service, case.family)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_exact_texts_extracted_in_order(case: WireCase) -> None:
    extraction = extract_body(case.body, case.family, case.content_type)
    assert [(s.role, s.text) for s in extraction.segments] == case.expected


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_sniffing_without_content_type_gives_the_same_texts(case: WireCase) -> None:
    """The pipeline may not pass the content type: family and first bytes must suffice."""
    extraction = extract_body(case.body, case.family)
    assert [(s.role, s.text) for s in extraction.segments] == case.expected


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_media_ids_and_credentials_are_not_extracted(case: WireCase) -> None:
    texts = [s.text for s in extract_body(case.body, case.family, case.content_type).segments]
    for value in (*case.absent, bearer()):
        assert not any(value in text for text in texts), value


@pytest.mark.parametrize(
    "case", [c for c in CASES if c.hints], ids=[c.name for c in CASES if c.hints]
)
def test_path_hints(case: WireCase) -> None:
    segments = extract_body(case.body, case.family, case.content_type).segments
    hints = {s.text: s.path_hint for s in segments if s.text in case.hints}
    assert hints == case.hints


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_message_indexes_and_origins_point_at_the_text(case: WireCase) -> None:
    """JSON segments can be redacted in flight: their origin resolves to exactly their text."""
    extraction = extract_body(case.body, case.family, case.content_type)
    if not extraction.is_json:
        assert not extraction.rewritable
        return
    for segment in extraction.segments:
        node = extraction.document
        try:
            for key in segment.origin:
                node = node[key]
        except (KeyError, IndexError, TypeError):
            node = None
        if node != segment.text:  # base64-decoded text: honest about not being rewritable
            assert not extraction.rewritable
    assert all(
        s.message_index is None or isinstance(s.message_index, int) for s in extraction.segments
    )


def test_planted_secret_reaches_a_segment_whole() -> None:
    case = next(c for c in CASES if c.name == "openai-chat")
    texts = [s.text for s in extract_body(case.body, case.family).segments]
    assert any(planted() in text for text in texts)


def test_token_id_prompt_is_uninspected_with_a_reason() -> None:
    case = next(c for c in CASES if c.name == "completions-token-ids")
    extraction = extract_body(case.body, case.family)
    assert extraction.segments == ()
    assert extraction.uninspected_reason == "prompt is token ids, not text"


def test_embeddings_token_ids_are_uninspected() -> None:
    extraction = extract_body(b'{"model": "e", "input": [[1, 2], [3]]}', "openai-embeddings")
    assert extraction.uninspected_reason == "embeddings input is token ids, not text"


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"model": "m", "messages": [{"role": "user", "content": "hi"}]}, [("user", "hi")]),
        ({"system": [{"type": "text", "text": "s"}], "messages": []}, [("system", "s")]),
        ({"input": "do it", "instructions": "sys"}, [("system", "sys"), ("user", "do it")]),
        ({"contents": [{"parts": [{"text": "g"}]}]}, [("user", "g")]),
        ({"request": {"contents": [{"parts": [{"text": "ca"}]}]}}, [("user", "ca")]),
        ({"prompt": "p", "suffix": "s"}, [("fim_prefix", "p"), ("fim_suffix", "s")]),
        (
            {"conversationState": {"currentMessage": {"userInputMessage": {"content": "q"}}}},
            [("user", "q")],
        ),
        ({"provider_request": {"messages": [{"role": "user", "content": "z"}]}}, [("user", "z")]),
        ({"anything": {"nested": ["x"]}}, [("other", "x")]),
    ],
)
def test_auto_family_sniffs_the_body_shape(
    document: object, expected: list[tuple[str, str]]
) -> None:
    import json

    segments = extract_body(json.dumps(document).encode(), "auto").segments
    assert [(s.role, s.text) for s in segments] == expected


def test_wrong_shape_for_family_falls_back_to_every_string() -> None:
    segments = extract_body(b'{"contents": "not a list", "x": "y"}', "bedrock-converse").segments
    assert sorted(s.text for s in segments) == ["not a list", "y"]


def test_text_that_merely_starts_with_dashes_is_not_taken_for_multipart() -> None:
    segments = extract_body(b"--abc\r\nnot really multipart", "auto").segments
    assert [(s.role, s.text) for s in segments] == [("body", "--abc\r\nnot really multipart")]


def test_multipart_binary_part_is_skipped_and_text_file_kept_with_its_name() -> None:
    body = (
        b'--b1\r\nContent-Disposition: form-data; name="file"; filename="notes.md"\r\n'
        b"Content-Type: text/markdown\r\n\r\n# Notes\r\n"
        b'--b1\r\nContent-Disposition: form-data; name="file"; filename="a.bin"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n\x00\x01\xff\r\n--b1--\r\n"
    )
    segments = extract_body(body, "multipart", "multipart/form-data; boundary=b1").segments
    assert [(s.role, s.text, s.path_hint) for s in segments] == [("file", "# Notes", "notes.md")]

"""Restoring placeholders in answers: every family's stream shape, split at every position."""

from __future__ import annotations

import json

import pytest

from egress_watch.decide.restore import Counts, Restoration, TextRestorer, restore_body
from egress_watch.decide.restore_streams import EventRestorer, SseRestorer
from tests.conftest import fake_aws_key_id, fake_aws_secret
from tests.support.llm_streams import (
    FAMILIES,
    assemble,
    assemble_event_docs,
    chunked,
    responses_events,
    split_args,
    split_deltas,
    sse_events,
)

KEY_PLACEHOLDER = "[REDACTED:aws-access-key:2e12]"
SECRET_PLACEHOLDER = "[REDACTED:aws-secret-key:9f0c]"


def table() -> dict[str, str]:
    # The secret carries a quote and a backslash: inside tool arguments it must be escaped.
    return {KEY_PLACEHOLDER: fake_aws_key_id(), SECRET_PLACEHOLDER: fake_aws_secret() + '"\\'}


def restored_text(placeholder: str) -> str:
    return "".join(split_deltas(placeholder)).replace(placeholder, table()[placeholder])


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("placeholder", [KEY_PLACEHOLDER, SECRET_PLACEHOLDER])
def test_every_split_position_is_restored_in_text_and_arguments(
    family: str, placeholder: str
) -> None:
    events = sse_events(family, split_deltas(placeholder), split_args(placeholder))
    counts: list[Counts] = []
    restorer = SseRestorer(Restoration(table()), counts.append)
    out = b"".join(b"".join(restorer(piece)) for piece in [*chunked(events), b""])
    text, args = assemble(family, out)
    assert text == restored_text(placeholder)
    assert args == {"path": "config/.env", "content": restored_text(placeholder)}
    assert placeholder not in out.decode()
    # Responses also repeat the text and the arguments whole in their .done events.
    copies = 5 if family == "openai-responses" else 2
    assert counts[0].restored == copies * (len(placeholder) + 1)
    assert counts[0].unrestored == 0


def test_byte_split_at_every_position_of_a_small_stream() -> None:
    events = sse_events("anthropic", ["a ", KEY_PLACEHOLDER[:7], KEY_PLACEHOLDER[7:]], ['{"x":1}'])
    body = b"".join(events)
    for cut in range(len(body) + 1):
        restorer = SseRestorer(Restoration(table()))
        pieces = [p for p in (body[:cut], body[cut:]) if p]
        out = b"".join(b"".join(restorer(p)) for p in [*pieces, b""])
        assert assemble("anthropic", out)[0] == "a " + fake_aws_key_id()


def test_only_a_possible_placeholder_prefix_is_held_back() -> None:
    restoration = Restoration(table())
    restorer = TextRestorer()
    assert restorer.feed("hello [RED", restoration) == "hello "
    assert restorer.feed("dish]", restoration) == "[REDdish]"
    assert restorer.feed("x [REDACTED:aws-access-key:2e", restoration) == "x "
    assert restorer.flush(restoration) == "[REDACTED:aws-access-key:2e"


def test_events_without_placeholders_pass_byte_for_byte() -> None:
    events = sse_events("openai-chat", ["plain ", "text"], ['{"a":', "1}"])
    restorer = SseRestorer(Restoration(table()))
    assert [b"".join(restorer(e)) for e in events] == events


def test_an_unknown_placeholder_is_counted_unrestored() -> None:
    unknown = "[REDACTED:github-token:77aa]"
    events = sse_events("anthropic", split_deltas(unknown)[:4], ['{"a":1}'])
    counts: list[Counts] = []
    restorer = SseRestorer(Restoration(table()), counts.append)
    out = b"".join(b"".join(restorer(e)) for e in [*events, b""])
    assert assemble("anthropic", out)[0] == "".join(split_deltas(unknown)[:4])
    assert (counts[0].restored, counts[0].unrestored) == (0, 2)


def test_done_events_and_whole_items_are_restored_whole() -> None:
    docs = responses_events(split_deltas(KEY_PLACEHOLDER)[:2], split_args(KEY_PLACEHOLDER))
    events = EventRestorer(Restoration(table()))
    out = [d for doc in docs for d in events.event(doc)[0]] + events.finish()
    text, args = assemble_event_docs("openai-responses", out)
    assert text == "key=" + fake_aws_key_id() + ";"
    done = next(d for d in out if d["type"] == "response.output_item.done")
    assert json.loads(done["item"]["arguments"]) == args
    assert fake_aws_key_id() in args["content"]


def test_json_bodies_restore_text_and_escape_arguments() -> None:
    body = json.dumps(
        {
            "choices": [
                {
                    "message": {
                        "content": f"use {SECRET_PLACEHOLDER}",
                        "tool_calls": [
                            {"function": {"arguments": json.dumps({"v": SECRET_PLACEHOLDER})}}
                        ],
                    }
                }
            ]
        }
    )
    counts = Counts()
    out = restore_body(body.encode(), "application/json", Restoration(table()), counts)
    assert out is not None
    message = json.loads(out)["choices"][0]["message"]
    secret = table()[SECRET_PLACEHOLDER]
    assert message["content"] == f"use {secret}"
    assert json.loads(message["tool_calls"][0]["function"]["arguments"]) == {"v": secret}
    assert counts.restored == 2
    assert restore_body(b'{"a": "b"}', "application/json", Restoration(table()), Counts()) is None

"""Hostile and unlucky bodies: a bad byte, a foreign charset or absurd nesting never lets a
secret through, and what cannot be read is decided by ``[policy] uninspected``."""

from __future__ import annotations

import base64
import json
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest

from egress_watch.catalog.services import builtin_catalog
from egress_watch.classify.engine import Engine
from egress_watch.config.settings import Settings, parse_settings
from egress_watch.decoding.charset import declared_charset, decode_text
from egress_watch.decoding.jsonsafe import MAX_JSON_DEPTH, TooDeep, loads, nesting_depth
from egress_watch.extract import extract_body
from egress_watch.model import Action, Capture, FailMode, Mode
from egress_watch.pipeline import Inspection, Inspector, Policy
from egress_watch.workstation.notify import compose
from tests.conftest import fake_aws_key_id

CHAT_PATH = "/v1/chat/completions"


def chat_bytes(content: str, charset: str = "utf-8", tail: str = "") -> bytes:
    """A chat body whose JSON text is encoded in ``charset``; ``tail`` is raw JSON appended."""
    document = {"model": "gpt-4o", "messages": [{"role": "user", "content": content}]}
    text = json.dumps(document, ensure_ascii=False)
    return (text[:-1] + tail + "}").encode(charset)


def inspect(
    tmp_path: Path,
    body: bytes,
    mode: Mode = Mode.MONITOR,
    content_type: str = "application/json",
    config: str = "",
    monitor_only: bool = False,
) -> Inspection:
    settings = parse_settings(tomllib.loads(config), "config.toml")
    catalog = builtin_catalog()
    route = catalog.route("api.openai.com", CHAT_PATH)
    assert route is not None
    policy = Policy(mode=mode, table=settings.policy, monitor_only=monitor_only)
    inspector = Inspector(catalog, Engine.configured(b"k" * 32, settings, tmp_path), policy)
    headers = (("content-type", content_type),)
    capture = Capture("POST", "https", "api.openai.com", 443, CHAT_PATH, headers, body)
    return inspector.inspect(capture, route)


def key_rules(inspection: Inspection) -> set[str]:
    return {f.rule for f in inspection.event.findings if f.category == "secret"}


def with_bad_byte(key: str) -> bytes:
    """A chat body with the key and one byte that is not UTF-8 right after a word nearby."""
    body = chat_bytes(f"my deploy key {key} please check caf\u00e9 config")
    return body.replace(b"caf\xc3\xa9", b"caf\xff")


# --- forgiving decoding ---------------------------------------------------------------------


def test_declared_charset_is_honoured_and_bad_bytes_are_replaced_one_for_one() -> None:
    assert declared_charset("application/json; charset=ISO-8859-1") == "iso8859-1"
    assert declared_charset('text/plain; charset="utf-8"') == "utf-8"
    assert declared_charset("application/json; charset=no-such-codec") is None
    decoded = decode_text(b"ab\xffcd")
    assert decoded.lossy
    assert decoded.text == "ab\ufffdcd"  # offsets after the bad byte keep their place


@pytest.mark.parametrize("mode", list(Mode))
def test_a_key_next_to_an_invalid_utf8_byte_is_found(tmp_path: Path, mode: Mode) -> None:
    key = fake_aws_key_id()
    inspection = inspect(tmp_path, with_bad_byte(key), mode)
    assert key_rules(inspection), "the key must be found despite the bad byte"
    finding = next(f for f in inspection.event.findings if f.category == "secret")
    text = inspection.extraction.segments[finding.segment_index].text
    assert text[finding.start : finding.end] == key  # offsets are into the decoded text
    expected = {Mode.MONITOR: Action.PASS, Mode.REDACT: Action.BLOCK, Mode.BLOCK: Action.BLOCK}
    # Redact cannot re-encode bytes that were replaced, so it blocks rather than send the key.
    assert inspection.decision.action is expected[mode]


def test_a_latin1_body_is_read_and_redacted_in_its_own_charset(tmp_path: Path) -> None:
    key = fake_aws_key_id()
    body = chat_bytes(f"Schl\u00fcssel {key} f\u00fcr S\u00e3o Paulo", "latin-1")
    content_type = "application/json; charset=ISO-8859-1"
    inspection = inspect(tmp_path, body, Mode.REDACT, content_type)
    assert key_rules(inspection)
    assert inspection.decision.action is Action.REDACT
    rewritten = inspection.rewritten_body
    assert rewritten is not None
    assert key.encode() not in rewritten
    document = json.loads(rewritten.decode("latin-1"))
    assert "Schl\u00fcssel [REDACTED:" in document["messages"][0]["content"]


def test_an_undeclared_latin1_body_still_has_its_key_found(tmp_path: Path) -> None:
    key = fake_aws_key_id()
    body = chat_bytes(f"Schl\u00fcssel {key}", "latin-1")
    inspection = inspect(tmp_path, body, Mode.BLOCK)
    assert key_rules(inspection)
    assert inspection.decision.action is Action.BLOCK


def test_a_key_beside_lone_surrogate_escapes_is_redacted_not_an_error(tmp_path: Path) -> None:
    key = fake_aws_key_id()
    body = chat_bytes("x").replace(b'"x"', f'"\\ud800 {key} \\udfff"'.encode())
    inspection = inspect(tmp_path, body, Mode.REDACT)
    assert inspection.decision.action is Action.REDACT
    rewritten = inspection.rewritten_body
    assert rewritten is not None
    assert key.encode() not in rewritten
    content = json.loads(rewritten)["messages"][0]["content"]
    assert content.startswith("\ud800 [REDACTED:")  # the escapes survive as they were sent


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32", "utf-8-sig"])
def test_a_body_with_a_byte_order_mark_is_read_in_its_encoding(
    tmp_path: Path, encoding: str
) -> None:
    key = fake_aws_key_id()
    inspection = inspect(tmp_path, chat_bytes(f"key {key}", encoding), Mode.REDACT)
    assert inspection.decision.action is Action.REDACT
    rewritten = inspection.rewritten_body
    assert rewritten is not None
    document = json.loads(rewritten.decode(encoding))
    assert "[REDACTED:" in document["messages"][0]["content"]
    assert key not in rewritten.decode(encoding)


def test_a_multipart_text_part_with_a_bad_byte_is_still_scanned(tmp_path: Path) -> None:
    key = fake_aws_key_id()
    body = (
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="notes.txt"\r\n'
        b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
        b"deploy key " + key.encode() + b" caf\xff\r\n--b--\r\n"
    )
    inspection = inspect(tmp_path, body, Mode.BLOCK, "multipart/form-data; boundary=b")
    assert key_rules(inspection)
    assert inspection.decision.action is Action.BLOCK


@pytest.mark.parametrize(
    ("family", "wrap"),
    [
        ("gemini", lambda data: {"contents": [{"role": "user", "parts": [
            {"inlineData": {"mimeType": "text/plain", "data": data}}]}]}),
        ("bedrock-converse", lambda data: {"messages": [{"role": "user", "content": [
            {"document": {"format": "txt", "name": "n", "source": {"bytes": data}}}]}]}),
    ],
)  # fmt: skip
def test_inline_text_documents_with_a_bad_byte_are_still_scanned(
    family: str, wrap: Callable[[str], object]
) -> None:
    key = fake_aws_key_id()
    data = base64.b64encode(b"deploy key " + key.encode() + b" caf\xff").decode()
    extraction = extract_body(json.dumps(wrap(data)).encode(), family, "application/json")
    assert any(key in segment.text for segment in extraction.segments)


# --- depth ----------------------------------------------------------------------------------


def test_nesting_depth_skips_strings_and_stops_past_the_limit() -> None:
    assert nesting_depth('{"a": ["[[[{{", {"b": []}]}') == 4
    assert nesting_depth('"\\"[[["') == 0
    assert nesting_depth("[" * 100_000) == 100_000
    assert nesting_depth("[]]]]" + "[" * 500) == 497  # invalid: the parser stops at the 3rd ]
    with pytest.raises(TooDeep):
        loads("[" * 10_000 + "]" * 10_000)
    assert loads("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH) is not None


@pytest.mark.parametrize("mode", list(Mode))
def test_a_key_beside_a_10000_deep_array_is_found_and_never_sent(
    tmp_path: Path, mode: Mode
) -> None:
    key = fake_aws_key_id()
    body = chat_bytes(f"key {key}", tail=',"x":' + "[" * 10_000 + "]" * 10_000)
    inspection = inspect(tmp_path, body, mode)  # must not raise RecursionError
    assert key_rules(inspection)
    if mode is not Mode.MONITOR:
        assert inspection.decision.action is Action.BLOCK  # cannot rewrite it as JSON safely


def test_deep_json_inside_a_tool_argument_string_does_not_raise(tmp_path: Path) -> None:
    key = fake_aws_key_id()
    deep = "[" * 10_000 + "]" * 10_000
    call = {"id": "c1", "type": "function", "function": {"name": "write", "arguments": deep}}
    document = {"model": "m", "messages": [
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "user", "content": f"key {key}"}]}  # fmt: skip
    inspection = inspect(tmp_path, json.dumps(document).encode(), Mode.REDACT)
    assert inspection.decision.action is Action.REDACT
    assert inspection.rewritten_body is not None
    assert key.encode() not in inspection.rewritten_body
    assert (
        deep
        in json.loads(inspection.rewritten_body)["messages"][0]["tool_calls"][0]["function"][
            "arguments"
        ]
    )


# --- [policy] uninspected -------------------------------------------------------------------

BINARY = b"\x00\x01\x02\xff\xfe" * 40


def test_block_mode_blocks_an_unreadable_body_and_says_why(tmp_path: Path) -> None:
    inspection = inspect(tmp_path, BINARY, Mode.BLOCK)
    assert inspection.event.uninspected_reason
    assert inspection.decision.action is Action.BLOCK
    assert "could not inspect" in inspection.decision.reason
    assert inspection.event.uninspected_reason in inspection.decision.reason
    assert 'uninspected = "monitor"' in inspection.decision.reason


@pytest.mark.parametrize(
    ("mode", "config", "monitor_only", "action"),
    [
        (Mode.MONITOR, "", False, Action.PASS),
        (Mode.REDACT, "", False, Action.PASS),
        (Mode.MONITOR, '[policy]\nuninspected = "block"', False, Action.BLOCK),
        (Mode.REDACT, '[policy]\nuninspected = "block"', False, Action.BLOCK),
        (Mode.REDACT, '[policy]\nuninspected = "redact"', False, Action.BLOCK),
        (Mode.BLOCK, '[policy]\nuninspected = "monitor"', False, Action.PASS),
        (Mode.BLOCK, '[policy]\nuninspected = "alert"', False, Action.PASS),
        (Mode.MONITOR, '[policy.services.openai]\nuninspected = "block"', False, Action.BLOCK),
        (Mode.BLOCK, '[policy.services.openai]\nuninspected = "monitor"', False, Action.PASS),
        # `--mode monitor` typed by the user: record and alert, never block.
        (Mode.MONITOR, '[policy]\nuninspected = "block"', True, Action.PASS),
    ],
)
def test_policy_uninspected_applies_in_every_mode(
    tmp_path: Path, mode: Mode, config: str, monitor_only: bool, action: Action
) -> None:
    inspection = inspect(tmp_path, BINARY, mode, config=config, monitor_only=monitor_only)
    assert inspection.event.uninspected_reason
    assert inspection.decision.action is action
    assert inspection.event.action is action


def test_policy_uninspected_alert_tells_the_desktop_once_per_service(tmp_path: Path) -> None:
    inspection = inspect(tmp_path, BINARY, Mode.MONITOR, config='[policy]\nuninspected = "alert"')
    assert inspection.decision.action is Action.PASS
    (alert,) = inspection.alerts
    assert alert.category == "uninspected"
    assert alert.fingerprint == "uninspected:openai"
    assert inspection.event.findings == ()  # the event carries the reason, not a fake finding
    note = compose(inspection.alerts, "openai", Action.PASS, None)
    assert note.title == "egress-watch: unreadable body sent — openai"
    assert inspection.event.uninspected_reason in note.body
    assert inspect(tmp_path, BINARY, Mode.MONITOR).alerts == ()  # unset: recorded only


def test_too_large_body_is_decided_by_the_uninspected_policy(tmp_path: Path) -> None:
    settings = Settings()
    catalog = builtin_catalog()
    route = catalog.route("api.openai.com", CHAT_PATH)
    assert route is not None
    policy = Policy(mode=Mode.BLOCK, max_body_bytes=64)
    inspector = Inspector(catalog, Engine.configured(b"k" * 32, settings, tmp_path), policy)
    body = chat_bytes("x" * 200)
    capture = Capture("POST", "https", "api.openai.com", 443, CHAT_PATH, (), body)
    inspection = inspector.inspect(capture, route)
    assert inspection.decision.action is Action.BLOCK
    assert "inspection limit" in inspection.decision.reason


@pytest.mark.parametrize(
    ("mode", "fail_mode"),
    [(Mode.MONITOR, FailMode.OPEN), (Mode.REDACT, FailMode.CLOSED), (Mode.BLOCK, FailMode.CLOSED)],
)
def test_fail_mode_defaults_closed_wherever_the_user_asked_to_stop_things(
    mode: Mode, fail_mode: FailMode
) -> None:
    assert Settings(mode=mode).fail_mode is fail_mode
    assert Settings(mode=mode, fail_mode_setting=FailMode.OPEN).fail_mode is FailMode.OPEN

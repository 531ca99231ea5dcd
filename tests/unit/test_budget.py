"""The inspection time budget: long texts are scanned in chunks, the deadline is checked
between chunks and segments, and a request past it is uninspected ("time budget")."""

from __future__ import annotations

import json
import time

import pytest

from egress_watch.catalog.services import builtin_catalog
from egress_watch.classify import engine as engine_module
from egress_watch.classify.engine import Engine
from egress_watch.config.settings import parse_settings
from egress_watch.errors import ConfigError
from egress_watch.model import Capture, Mode, Segment
from egress_watch.pipeline import ACTING_BUDGET_FACTOR, TIME_BUDGET, Inspector, Policy
from tests.conftest import fake_aws_key_id, fake_aws_secret
from tests.support.pathological import PATTERNS, proxy_engine


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    return proxy_engine(str(tmp_path_factory.mktemp("config")))


def mixed_text(size: int) -> str:
    """Secrets, URLs, e-mails, a private key block, pairs and markers, each a few times."""
    parts = ("fake-tokens", "urls", "emails", "aws-pairs", "markers", "user-pass-host")
    key = f"-----BEGIN RSA PRIVATE KEY-----\n{'MIIEow' * 30}\n-----END RSA PRIVATE KEY-----\n"
    return "".join(PATTERNS[p](size // len(parts)) + "\n" + key for p in parts)


def spans(findings: list[object]) -> list[tuple[int, int, str]]:
    return sorted((f.start, f.end, f.rule) for f in findings)  # type: ignore[attr-defined]


def test_chunked_scan_finds_exactly_what_a_whole_scan_finds(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunk borders fall inside URLs, tokens and a key block; nothing is lost or doubled."""
    text = mixed_text(60_000)
    whole = engine._scan(text)
    monkeypatch.setattr(engine_module, "CHUNK_CHARS", 5_003)
    monkeypatch.setattr(engine_module, "CONTEXT_BEFORE", 700)
    monkeypatch.setattr(engine_module, "CONTEXT_AFTER", 1_500)
    chunked, complete = engine._scan_chunks(text, None)
    assert complete
    assert len(text) > 10 * 5_003
    assert spans(list(chunked)) == spans(list(whole))
    assert {f.category for f in whole} >= {"secret", "infra", "pii", "marker"}


def test_a_passed_deadline_stops_between_segments_and_keeps_what_was_found(
    engine: Engine,
) -> None:
    first = Segment("user", f"key {fake_aws_key_id()} here")
    second = Segment("user", f"aws_secret_access_key = {fake_aws_secret()}")
    found, complete = engine.classify_within([first, second], time.monotonic() - 1)
    assert not complete
    assert [f.rule for f in found] == ["aws-access-key"]  # the first segment, always
    found, complete = engine.classify_within([first, second], None)
    assert complete
    assert [f.rule for f in found] == ["aws-access-key", "aws-secret-key"]


def test_a_long_segment_stops_between_chunks_and_is_not_cached(engine: Engine) -> None:
    prose = PATTERNS["no-newline"](3 * engine_module.CHUNK_CHARS)
    text = f"aws_secret_access_key = {fake_aws_secret()}\n{prose}\nuse {fake_aws_key_id()}\n"
    deadline = time.monotonic()  # passed by the end of the first chunk
    found, complete = engine.classify_within([Segment("user", text)], deadline)
    assert not complete
    assert [f.rule for f in found] == ["aws-secret-key"]  # the first chunk's findings
    size = len(engine.cache)
    found_again, complete_again = engine.classify_within([Segment("user", text)], None)
    assert complete_again
    assert [f.rule for f in found_again] == ["aws-secret-key", "aws-access-key"]
    assert len(engine.cache) == size + 1  # only the complete scan was remembered


def chat_capture(content: str) -> Capture:
    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": content}]})
    headers = (("content-type", "application/json"),)
    return Capture("POST", "https", "api.openai.com", 443, "/v1/chat/completions", headers,
                   body.encode())  # fmt: skip


@pytest.mark.parametrize("mode", [Mode.MONITOR, Mode.BLOCK])
def test_a_request_past_its_budget_is_uninspected_with_the_reason(
    engine: Engine, mode: Mode
) -> None:
    route = builtin_catalog().route("api.openai.com", "/v1/chat/completions")
    assert route is not None
    content = f"{fake_aws_key_id()}\n" + PATTERNS["no-newline"](3 * engine_module.CHUNK_CHARS)
    inspector = Inspector(builtin_catalog(), engine, Policy(mode, inspect_budget_ms=1))
    # 1 ms (block mode: its longer reading budget, 10 x 1 ms) passes before the first chunk
    # is scanned: the first chunk is always scanned, the rest is not.
    received = time.monotonic() - 1 if mode is Mode.BLOCK else None
    inspection = inspector.inspect(chat_capture(content), route, received=received)
    assert inspection.event.uninspected_reason == TIME_BUDGET
    assert any(f.rule == "aws-access-key" for f in inspection.event.findings)
    if mode is Mode.BLOCK:  # what was found before the budget ran out still applies
        assert inspection.decision.action.value == "block"


def test_a_small_request_within_its_budget_is_inspected(engine: Engine) -> None:
    route = builtin_catalog().route("api.openai.com", "/v1/chat/completions")
    assert route is not None
    inspector = Inspector(builtin_catalog(), engine, Policy(inspect_budget_ms=3000))
    inspection = inspector.inspect(chat_capture(f"use {fake_aws_key_id()}"), route)
    assert inspection.event.uninspected_reason is None
    assert [f.rule for f in inspection.event.findings] == ["aws-access-key"]


def test_the_budget_is_configured_in_proxy_section() -> None:
    assert parse_settings({}, "config.toml").inspect_budget_ms == 3000
    settings = parse_settings({"proxy": {"inspect_budget_ms": 250}}, "config.toml")
    assert settings.inspect_budget_ms == 250
    with pytest.raises(ConfigError, match="inspect_budget_ms"):
        parse_settings({"proxy": {"inspect_budget_ms": 0}}, "config.toml")


@pytest.mark.parametrize("mode", [Mode.REDACT, Mode.BLOCK])
def test_a_request_that_waited_out_its_budget_still_has_its_first_chunk_acted_on(
    engine: Engine, mode: Mode
) -> None:
    """Shedding an unread request is for monitor mode only: in redact and block mode a request
    that queued past its budget still has its first chunk scanned, so a key in it never leaves."""
    route = builtin_catalog().route("api.openai.com", "/v1/chat/completions")
    assert route is not None
    inspector = Inspector(builtin_catalog(), engine, Policy(mode, inspect_budget_ms=1))
    capture = chat_capture(f"deploy with {fake_aws_key_id()} please")
    inspection = inspector.inspect(capture, route, received=time.monotonic() - 10)
    assert any(f.rule == "aws-access-key" for f in inspection.event.findings)
    expected = "redact" if mode is Mode.REDACT else "block"
    assert inspection.decision.action.value == expected
    if mode is Mode.REDACT:
        assert inspection.rewritten_body is not None
        assert fake_aws_key_id().encode() not in inspection.rewritten_body


def test_a_request_that_waited_out_its_budget_is_shed_unread_in_monitor_mode(
    engine: Engine,
) -> None:
    route = builtin_catalog().route("api.openai.com", "/v1/chat/completions")
    assert route is not None
    policy = Policy(Mode.MONITOR, inspect_budget_ms=1, monitor_only=True)
    inspector = Inspector(builtin_catalog(), engine, policy)
    capture = chat_capture(f"deploy with {fake_aws_key_id()} please")
    inspection = inspector.inspect(capture, route, received=time.monotonic() - 10)
    assert inspection.event.uninspected_reason == TIME_BUDGET
    assert inspection.decision.action.value == "pass"


def test_a_policy_entry_that_redacts_keeps_a_late_request_read_in_monitor_mode(
    engine: Engine,
) -> None:
    """Monitor mode with ``[policy] secret = "redact"`` acts on findings, so it never sheds."""
    route = builtin_catalog().route("api.openai.com", "/v1/chat/completions")
    assert route is not None
    table = parse_settings({"policy": {"secret": "redact"}}, "config.toml").policy
    policy = Policy(Mode.MONITOR, table=table, inspect_budget_ms=1)
    assert policy.acts_on_findings()
    assert not Policy(Mode.MONITOR).acts_on_findings()
    inspector = Inspector(builtin_catalog(), engine, policy)
    capture = chat_capture(f"deploy with {fake_aws_key_id()} please")
    inspection = inspector.inspect(capture, route, received=time.monotonic() - 10)
    assert inspection.decision.action.value == "redact"
    assert inspection.rewritten_body is not None
    assert fake_aws_key_id().encode() not in inspection.rewritten_body


def conversation_capture(*contents: str) -> Capture:
    """A chat of several messages: each is a segment of its own, scanned in order."""
    messages = [{"role": "user", "content": content} for content in contents]
    body = json.dumps({"model": "m", "messages": messages})
    headers = (("content-type", "application/json"),)
    return Capture("POST", "https", "api.openai.com", 443, "/v1/chat/completions", headers,
                   body.encode())  # fmt: skip


@pytest.mark.parametrize("mode", [Mode.MONITOR, Mode.REDACT, Mode.BLOCK])
def test_where_findings_act_a_busy_machine_still_reads_the_whole_body(
    engine: Engine, mode: Mode
) -> None:
    """A request that waited past its budget (a busy machine): monitor mode records it
    unread and moves on, but redact mode must not forward a key it did not read, and block
    mode must not block a request only because the machine was busy. Both read the body to
    its end, the key in the last message included, within their longer reading budget."""
    route = builtin_catalog().route("api.openai.com", "/v1/chat/completions")
    assert route is not None
    budget_ms = 1000
    policy = Policy(mode, inspect_budget_ms=budget_ms)
    assert policy.reading_budget_ms() == (
        budget_ms if mode is Mode.MONITOR else budget_ms * ACTING_BUDGET_FACTOR
    )
    inspector = Inspector(builtin_catalog(), engine, policy)
    capture = conversation_capture("hello", "here is the log", f"deploy with {fake_aws_key_id()}")
    late = time.monotonic() - 1.5 * budget_ms / 1000  # past the budget, within 10 x it
    inspection = inspector.inspect(capture, route, received=late)
    action = inspection.decision.action.value
    if mode is Mode.MONITOR:
        assert inspection.event.uninspected_reason == TIME_BUDGET
        assert action == "pass"
        return
    assert inspection.event.uninspected_reason is None
    assert [f.rule for f in inspection.event.findings] == ["aws-access-key"]
    assert action == ("redact" if mode is Mode.REDACT else "block")
    if mode is Mode.REDACT:
        assert inspection.rewritten_body is not None
        assert fake_aws_key_id().encode() not in inspection.rewritten_body


def test_an_innocent_late_request_is_not_blocked_in_block_mode(engine: Engine) -> None:
    """Block mode reads a late request to its end: nothing found, so it passes, where
    stopping at the budget would have blocked it as uninspected."""
    route = builtin_catalog().route("api.openai.com", "/v1/chat/completions")
    assert route is not None
    inspector = Inspector(builtin_catalog(), engine, Policy(Mode.BLOCK, inspect_budget_ms=1000))
    capture = conversation_capture("hello", "why does this test fail?", "thanks")
    inspection = inspector.inspect(capture, route, received=time.monotonic() - 1.5)
    assert inspection.event.uninspected_reason is None
    assert inspection.decision.action.value == "pass"

"""Stable placeholders, stand-ins, the in-memory vault, conversation keys and the policy keys."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from egress_watch.catalog.services import builtin_catalog
from egress_watch.classify.engine import Engine
from egress_watch.config.settings import Settings, parse_settings
from egress_watch.decide.conversation import conversation_anchor, conversation_key
from egress_watch.decide.naming import Naming
from egress_watch.decide.restore_policy import RestorePolicy
from egress_watch.decide.standin import is_stand_in, stand_in
from egress_watch.decide.vault import Vault
from egress_watch.errors import ConfigError
from egress_watch.model import Action, Capture, Mode
from egress_watch.pipeline import Inspection, Inspector, Policy
from tests.conftest import fake_aws_key_id, fake_aws_secret

KEY = b"k" * 32
PLACEHOLDER = re.compile(r"\[REDACTED:[a-z0-9-]+:[0-9a-f]+\]")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def fixed(name: str) -> Any:
    return lambda attempt: f"{name}{attempt}"


def test_the_vault_names_a_value_once_and_keeps_distinct_values_apart() -> None:
    vault = Vault(harden=lambda: None)
    first = vault.placeholder("c1", "fp-a", "value-a", fixed("P"))
    assert vault.placeholder("c1", "fp-a", "value-a", fixed("P")) == first == "P0"
    # A second value whose first candidate clashes gets the next one.
    assert vault.placeholder("c1", "fp-b", "value-b", fixed("P")) == "P1"
    assert vault.originals("c1") == {"P0": "value-a", "P1": "value-b"}
    assert vault.originals("c2") == {}
    assert vault.held == 2


def test_the_vault_is_bounded_by_count_and_bytes_and_forgets_idle_conversations() -> None:
    clock = Clock()
    vault = Vault(max_values=3, max_bytes=1000, idle_ttl_s=60, clock=clock, harden=lambda: None)
    for number in range(3):
        vault.placeholder(f"c{number}", "fp", "v", fixed("P"))
    vault.placeholder("c3", "fp", "v", fixed("P"))  # the least recently used goes
    assert vault.originals("c0") == {}
    assert vault.held == 3
    clock.now = 61
    assert vault.held == 0  # idle past the TTL
    big = Vault(max_bytes=50, harden=lambda: None)
    assert big.placeholder("c", "fp", "x" * 100, fixed("P")) == "P0"
    assert big.originals("c") == {}  # named, but too big to hold: it stays unrestored


def test_the_vault_hardens_the_process_once_and_only_when_it_holds_a_value() -> None:
    calls: list[int] = []
    vault = Vault(harden=lambda: calls.append(1))
    vault.placeholder("c", "fp", "v", fixed("P"), keep_original=False)
    assert calls == []
    assert vault.originals("c") == {}
    vault.placeholder("c", "fp", "v", fixed("P"))
    vault.placeholder("c", "fp2", "w", fixed("P"))
    assert calls == [1]


@pytest.mark.parametrize(("value", "prefix"), [
    (fake_aws_key_id(), "AKIA"), (fake_aws_secret(), ""), ("ghp_" + "x7Kq2" * 7 + "z", "ghp_"),
    ("sk-ant-api03-" + "Ab3dE5" * 9, "sk-ant-api03-"), ("deadbeef" * 5, "")])  # fmt: skip
def test_a_stand_in_keeps_the_shape_and_is_recognised_as_ours(value: str, prefix: str) -> None:
    made = stand_in(KEY, value)
    assert made is not None
    assert made != value
    assert len(made) == len(value)
    assert [c.isdigit() or c.isalpha() for c in made] == [c.isdigit() or c.isalpha() for c in value]
    assert made.startswith(prefix)  # the vendor prefix stays
    assert all(c in "0123456789abcdef" for c in made) == all(c in "0123456789abcdef" for c in value)
    assert is_stand_in(KEY, made)
    assert not is_stand_in(KEY, value)
    assert not is_stand_in(b"other key" * 4, made)  # only this install's stand-ins
    assert stand_in(KEY, "hunter2") is None  # too short to carry a tag: bracketed instead
    assert stand_in(KEY, value + "\n" + value) is None  # a key block: bracketed too


def inspect(inspector: Inspector, messages: list[dict[str, str]], fallback: str = "r1"
            ) -> Inspection:  # fmt: skip
    body = json.dumps({"model": "m", "messages": messages}).encode()
    capture = Capture("POST", "https", "api.openai.com", 443, "/v1/chat/completions",
                      (("content-type", "application/json"),), body)  # fmt: skip
    route = builtin_catalog().route(capture.host, capture.path)
    assert route is not None
    return inspector.inspect(capture, route, fallback=fallback)


def redacting_inspector(tmp_path: Path, style: str = "bracketed") -> Inspector:
    engine = Engine.configured(KEY, Settings(), tmp_path)
    naming = Naming(KEY, Vault(harden=lambda: None), style)
    policy = Policy(Mode.REDACT, restore=RestorePolicy(redact_style=style))
    return Inspector(builtin_catalog(), engine, policy, naming)


def test_placeholders_are_stable_across_turns_of_one_conversation(tmp_path: Path) -> None:
    inspector = redacting_inspector(tmp_path)
    first = {"role": "user", "content": f"use {fake_aws_key_id()}"}
    turn1 = inspect(inspector, [first], "r1")
    second = {"role": "user", "content": f"aws_secret_access_key = {fake_aws_secret()}"}
    turn2 = inspect(inspector, [first, second], "r2")
    assert turn1.decision.action is Action.REDACT
    sent1 = PLACEHOLDER.findall((turn1.rewritten_body or b"").decode())
    sent2 = PLACEHOLDER.findall((turn2.rewritten_body or b"").decode())
    assert len(sent1) == 1
    assert sent2[0] == sent1[0] != sent2[1]
    assert turn1.event.conversation_key == turn2.event.conversation_key
    assert turn1.event.conversation_key is not None
    assert turn1.event.conversation_key.startswith("conv:")
    assert fake_aws_key_id() not in turn1.event.conversation_key
    assert inspector.naming is not None
    held = inspector.naming.vault.originals(turn1.conversation or "")
    assert set(held.values()) == {fake_aws_key_id(), fake_aws_secret()}


def test_stand_ins_replace_values_and_are_never_reported_when_sent_back(tmp_path: Path) -> None:
    inspector = redacting_inspector(tmp_path, "stand-in")
    turn1 = inspect(inspector, [{"role": "user", "content": f"use {fake_aws_key_id()}"}])
    body = (turn1.rewritten_body or b"").decode()
    assert fake_aws_key_id() not in body
    made = re.search(r"AKIA[A-Z0-9]{16}", body)
    assert made is not None
    # After a restart the history carries the stand-in: it is not a finding.
    fresh = redacting_inspector(tmp_path, "stand-in")
    again = inspect(fresh, [{"role": "user", "content": f"use {made.group()}"}], "r9")
    assert again.event.findings == ()
    assert again.decision.action is Action.PASS


def test_without_a_conversation_in_the_body_the_request_is_its_own_conversation() -> None:
    assert conversation_anchor({"model": "m"}) is None
    assert conversation_anchor([1, 2]) is None
    claude = {"metadata": {"user_id": "user_ab_account_cd_session_ef"}, "messages": [{"a": 1}]}
    assert conversation_anchor(claude) == "session:user_ab_account_cd_session_ef"
    codex = {"prompt_cache_key": "019a-conv", "input": [{"role": "user"}]}
    assert conversation_anchor(codex) == "prompt_cache_key:019a-conv"
    one = conversation_anchor({"system": "s", "messages": [{"role": "user", "content": "hi"}]})
    two = conversation_anchor({"system": "s", "messages": [
        {"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]})  # fmt: skip
    assert one == two is not None
    system = {"role": "system", "content": "You are a coding agent."}
    chat_a = conversation_anchor({"messages": [system, {"role": "user", "content": "fix a"}]})
    reply = {"role": "assistant", "content": "ok"}
    chat_b = conversation_anchor({"messages": [system, {"role": "user", "content": "b"}, reply]})
    assert chat_a != chat_b  # the same system prompt does not make one conversation
    assert conversation_key(KEY, "openai", one) != conversation_key(KEY, "anthropic", one)


def test_policy_restore_and_redact_style_parse_and_validate() -> None:
    default = parse_settings({"policy": {"secret": "redact"}}, "c.toml")
    assert default.restore == RestorePolicy()
    assert default.restore.restores("cursor")
    settings = parse_settings({"policy": {
        "restore": True, "redact_style": "stand-in",
        "services": {"cursor": {"restore": False, "secret": "block"}}}}, "c.toml")  # fmt: skip
    assert settings.restore.redact_style == "stand-in"
    assert not settings.restore.restores("cursor")
    assert settings.restore.restores("openai")
    assert settings.policy.services["cursor"].by_category  # the levels are still parsed
    with pytest.raises(ConfigError, match=r"c.toml: policy.redact_style: expected one of brack"):
        parse_settings({"policy": {"redact_style": "stars"}}, "c.toml")
    with pytest.raises(ConfigError, match=r"policy.services.cursor.restore: expected true or f"):
        parse_settings({"policy": {"services": {"cursor": {"restore": "no"}}}}, "c.toml")
    with pytest.raises(ConfigError, match=r"policy.services.nope: unknown service"):
        parse_settings({"policy": {"services": {"nope": {"restore": False}}}}, "c.toml")

"""Policy on where a request goes: [policy.jurisdictions] and [policy] training."""

from __future__ import annotations

import tomllib

import pytest

from egress_watch.catalog.services import builtin_catalog
from egress_watch.config.settings import parse_settings
from egress_watch.decide.policy import PolicyTable, decide
from egress_watch.errors import ConfigError
from egress_watch.model import Action, Category, Finding, Severity

FP = "hmac-sha256:" + "c" * 64


def table(toml: str) -> PolicyTable:
    return parse_settings(tomllib.loads(toml), "config.toml").policy


def secret(severity: Severity = Severity.HIGH, category: Category = Category.SECRET) -> Finding:
    return Finding(category, "aws-access-key", severity, 0, 1, "AKIA…W5YB (20 chars)", FP)


CN_BLOCK = table('[policy.jurisdictions]\nCN = "block"\n')


@pytest.mark.parametrize(
    ("host", "service", "action"),
    [
        ("api.deepseek.com", "deepseek", Action.BLOCK),
        ("dashscope-intl.aliyuncs.com", "dashscope", Action.BLOCK),  # by its parent's code
        ("api.z.ai", "zhipu", Action.BLOCK),
        ("api.kimi.com", "moonshot", Action.BLOCK),  # "CN?": unconfirmed, still matched
        ("api.openai.com", "openai", Action.PASS),
        ("api.mistral.ai", "mistral", Action.PASS),
    ],
)
def test_a_jurisdiction_rule_applies_to_every_request_of_matching_services(
    host: str, service: str, action: Action
) -> None:
    verdict = decide([], service, CN_BLOCK, facts=builtin_catalog().facts(host))
    assert verdict.decision.action is action


def test_the_block_message_names_the_jurisdiction_and_the_operator() -> None:
    facts = builtin_catalog().facts("dashscope-intl.aliyuncs.com")
    verdict = decide([secret()], "dashscope", CN_BLOCK, facts=facts)
    reason = verdict.decision.reason
    assert "jurisdiction CN" in reason
    assert "Alibaba Cloud (Singapore) Pte. Ltd." in reason
    assert "Alibaba Group Holding" in reason
    assert "[policy.jurisdictions] CN" in reason
    assert verdict.alerts[-1].rule == "destination-policy"  # the user is told, too


def test_a_jurisdiction_table_tightens_findings_by_category_and_alerts_on_the_rest() -> None:
    rules = table(
        '[policy]\ncritical = "monitor"\nhigh = "monitor"\n'
        '[policy.jurisdictions.CN]\ndefault = "alert"\nsecret = "block"\n'
    )
    cn = builtin_catalog().facts("api.deepseek.com")
    clean = decide([], "deepseek", rules, facts=cn)
    assert clean.decision.action is Action.PASS
    assert [f.rule for f in clean.alerts] == ["destination-policy"]
    assert decide([secret()], "deepseek", rules, facts=cn).decision.action is Action.BLOCK
    infra = secret(category=Category.INFRA)
    assert decide([infra], "deepseek", rules, facts=cn).decision.action is Action.PASS
    us = builtin_catalog().facts("api.openai.com")
    assert decide([secret()], "openai", rules, facts=us).decision.action is Action.PASS


def test_an_allowed_value_is_not_tightened_by_a_jurisdiction() -> None:
    rules = table('[policy.jurisdictions.CN]\nsecret = "block"\n')
    cn = builtin_catalog().facts("api.deepseek.com")
    verdict = decide([secret()], "deepseek", rules, allowed={FP}, facts=cn)
    assert verdict.decision.action is Action.PASS


def test_monitor_only_caps_a_jurisdiction_block_at_an_alert() -> None:
    cn = builtin_catalog().facts("api.deepseek.com")
    verdict = decide([], "deepseek", CN_BLOCK, monitor_only=True, facts=cn)
    assert verdict.decision.action is Action.PASS
    assert [f.rule for f in verdict.alerts] == ["destination-policy"]


@pytest.mark.parametrize(
    ("host", "service", "alerted"),
    [
        ("chatgpt.com", "chatgpt-codex", True),  # consumer tiers train by default
        ("api.moonshot.ai", "moonshot", True),
        ("cloudcode-pa.googleapis.com", "gemini-code-assist", True),
        ("api.openai.com", "openai", False),
        ("api.deepseek.com", "deepseek", False),  # unknown is not guessed into "may train"
    ],
)
def test_training_alerts_on_endpoints_that_may_train_by_default(
    host: str, service: str, alerted: bool
) -> None:
    rules = table('[policy]\ntraining = "alert"\n')
    verdict = decide([], service, rules, facts=builtin_catalog().facts(host))
    assert verdict.decision.action is Action.PASS
    assert bool(verdict.alerts) is alerted
    if alerted:
        assert "may train on requests by default" in verdict.alerts[0].masked


def test_training_block_names_the_terms() -> None:
    rules = table('[policy]\ntraining = "block"\n')
    verdict = decide([], "chatgpt-codex", rules, facts=builtin_catalog().facts("chatgpt.com"))
    assert verdict.decision.action is Action.BLOCK
    assert 'may_train = "some-tiers"' in verdict.decision.reason


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[policy.jurisdictions]\nChina = "block"', "policy.jurisdictions.China: expected an ISO"),
        ('[policy.jurisdictions]\nCN = "stop"', "policy.jurisdictions.CN.default: expected one of"),
        ('[policy.jurisdictions]\nCN = "redact"', "redact needs a finding to redact"),
        ('[policy.jurisdictions.CN]\ncolour = "block"', "policy.jurisdictions.CN: unknown key"),
        ('[policy]\ntraining = "redact"', "policy.training: expected monitor, alert or block"),
        ('[policy]\ntraining = "often"', "policy.training: expected one of"),
    ],
)
def test_bad_destination_rules_name_the_key(toml: str, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        table(toml)
    assert message in str(error.value)

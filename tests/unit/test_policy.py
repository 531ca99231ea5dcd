"""Policy: which findings make a request pass, alert, get redacted or get blocked."""

from __future__ import annotations

import tomllib

import pytest

from egress_watch.config.settings import parse_settings
from egress_watch.decide.policy import Level, PolicyTable, decide, enforceable, finding_level
from egress_watch.errors import ConfigError
from egress_watch.model import Action, Category, Finding, Mode, Severity

FP_A = "hmac-sha256:" + "a" * 64
FP_B = "hmac-sha256:" + "b" * 64


def finding(
    severity: Severity,
    rule: str = "r",
    category: Category = Category.SECRET,
    fingerprint: str = FP_A,
) -> Finding:
    return Finding(category, rule, severity, 0, 1, "AKIA…W5YB (20 chars)", fingerprint)


def table(toml: str) -> PolicyTable:
    return parse_settings(tomllib.loads(toml), "config.toml").policy


@pytest.mark.parametrize(
    ("mode", "severities", "action", "acted_on"),
    [
        (Mode.MONITOR, [Severity.CRITICAL], Action.PASS, 1),
        (Mode.BLOCK, [], Action.PASS, 0),
        (Mode.BLOCK, [Severity.MEDIUM], Action.PASS, 1),
        (Mode.BLOCK, [Severity.MEDIUM, Severity.HIGH], Action.BLOCK, 1),
        (Mode.REDACT, [Severity.LOW, Severity.CRITICAL, Severity.HIGH], Action.REDACT, 2),
        (Mode.REDACT, [Severity.LOW], Action.PASS, 1),
    ],
)
def test_mode_overrides_the_table_at_or_above_the_threshold(
    mode: Mode, severities: list[Severity], action: Action, acted_on: int
) -> None:
    verdict = decide([finding(s) for s in severities], "openai", mode=mode)
    assert verdict.decision.action is action
    assert len(verdict.decision.findings) == acted_on


@pytest.mark.parametrize(
    ("severity", "category", "level"),
    [
        (Severity.CRITICAL, Category.SECRET, Level.ALERT),
        (Severity.HIGH, Category.PROPRIETARY, Level.ALERT),
        (Severity.MEDIUM, Category.INFRA, Level.MONITOR),
        (Severity.LOW, Category.PII, Level.MONITOR),
    ],
)
def test_defaults_monitor_everything_and_alert_on_critical_and_high(
    severity: Severity, category: Category, level: Level
) -> None:
    assert finding_level(finding(severity, category=category), "openai", PolicyTable()) is level


CONFIG = """
[policy]
medium = "alert"
secret = "redact"
pii = "monitor"
[policy.services.cursor]
secret = "block"
high = "monitor"
"""


@pytest.mark.parametrize(
    ("service", "severity", "category", "level"),
    [
        ("openai", Severity.CRITICAL, Category.SECRET, Level.REDACT),  # category over severity
        ("openai", Severity.HIGH, Category.PROPRIETARY, Level.ALERT),  # default kept
        ("openai", Severity.MEDIUM, Category.INFRA, Level.ALERT),  # severity entry
        ("openai", Severity.LOW, Category.PII, Level.MONITOR),
        ("cursor", Severity.CRITICAL, Category.SECRET, Level.BLOCK),  # the service's own entry
        ("cursor", Severity.HIGH, Category.PROPRIETARY, Level.MONITOR),  # service loosens
        ("cursor", Severity.MEDIUM, Category.INFRA, Level.ALERT),  # falls back to global
    ],
)
def test_most_specific_entry_wins(
    service: str, severity: Severity, category: Category, level: Level
) -> None:
    assert finding_level(finding(severity, category=category), service, table(CONFIG)) is level


def test_per_service_block_and_redact_decide_the_request() -> None:
    policy = table(CONFIG)
    found = [
        finding(Severity.CRITICAL, "aws-access-key"),
        finding(Severity.MEDIUM, "host", Category.INFRA, FP_B),
    ]
    cursor = decide(found, "cursor", policy)
    assert cursor.decision.action is Action.BLOCK
    assert [f.rule for f in cursor.decision.findings] == ["aws-access-key"]
    assert {f.rule for f in cursor.alerts} == {"aws-access-key", "host"}
    openai = decide(found, "openai", policy)
    assert openai.decision.action is Action.REDACT
    assert openai.decision.reason == "redacted aws-access-key"


def test_alert_level_passes_the_request_but_is_reported() -> None:
    verdict = decide([finding(Severity.HIGH), finding(Severity.LOW, fingerprint=FP_B)], "openai")
    assert verdict.decision.action is Action.PASS
    assert len(verdict.decision.findings) == 2  # all recorded
    assert [f.severity for f in verdict.alerts] == [Severity.HIGH]


@pytest.mark.parametrize("mode", [Mode.MONITOR, Mode.BLOCK, Mode.REDACT])
def test_an_allowed_fingerprint_is_never_acted_on_nor_alerted(mode: Mode) -> None:
    policy = table("[policy]\nsecret = 'block'")
    found = [finding(Severity.CRITICAL)]
    verdict = decide(found, "openai", policy, mode, allowed={FP_A})
    assert verdict.decision.action is Action.PASS
    assert verdict.decision.findings == tuple(found)  # still recorded
    assert verdict.alerts == ()
    assert decide(found, "openai", policy, mode).decision.action is not Action.PASS


def test_block_reason_names_rules_masks_and_how_to_allow() -> None:
    verdict = decide([finding(Severity.CRITICAL, "aws-access-key")], "openai", mode=Mode.BLOCK)
    reason = verdict.decision.reason
    assert "aws-access-key AKIA…W5YB (20 chars)" in reason
    assert f"egress-watch allow {FP_A} --reason TEXT" in reason


def test_block_reason_with_several_values_lists_their_fingerprints() -> None:
    found = [finding(Severity.CRITICAL), finding(Severity.HIGH, fingerprint=FP_B)]
    reason = decide(found, "openai", mode=Mode.BLOCK).decision.reason
    assert "egress-watch allow FINGERPRINT --reason TEXT" in reason
    assert FP_A in reason
    assert FP_B in reason


def test_block_reason_pairs_each_value_with_its_fingerprint() -> None:
    """Rules and fingerprints listed pairwise: 7 findings of 6 values, 5 named, 1 counted."""
    fps = [f"hmac-sha256:{n:064x}" for n in range(6)]
    found = [
        finding(Severity.CRITICAL, f"rule-{n}", fingerprint=fp) for n, fp in enumerate(fps)
    ] + [finding(Severity.CRITICAL, "rule-0", fingerprint=fps[0])]
    reason = decide(found, "openai", mode=Mode.BLOCK).decision.reason
    assert "contains 6 values" in reason
    for n in range(5):
        assert f"rule-{n} AKIA…W5YB (20 chars) = {fps[n]}" in reason
    assert fps[5] not in reason
    assert "and 1 more" in reason


def test_redact_of_a_body_that_cannot_be_rewritten_blocks_instead() -> None:
    redact = decide([finding(Severity.CRITICAL, "aws-access-key")], "x", mode=Mode.REDACT).decision
    assert enforceable(redact, rewritable=True) is redact
    blocked = enforceable(redact, rewritable=False)
    assert blocked.action is Action.BLOCK
    assert "cannot be redacted in place" in blocked.reason
    assert blocked.findings == redact.findings


@pytest.mark.parametrize("mode", [Mode.BLOCK, Mode.REDACT])
def test_a_streamed_body_is_recorded_but_not_stopped(mode: Mode) -> None:
    acted = decide([finding(Severity.CRITICAL)], "cursor", mode=mode).decision
    recorded = enforceable(acted, rewritable=True, streamed=True)
    assert recorded.action is Action.PASS
    assert recorded.findings == acted.findings
    assert "could not be stopped" in recorded.reason


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[policy]\ncritical = 'nuke'", r"config\.toml: policy\.critical: expected one of "
         r"monitor, alert, redact, block, got 'nuke'"),
        ("[policy]\nsecrets = 'block'", r"policy: unknown key 'secrets' \(a severity or category"),
        ("[policy]\nhigh = 3", r"policy\.high: expected one of"),
        ("[policy.services.cursr]\nsecret = 'block'", r"policy\.services\.cursr: unknown service"),
        ("[policy.services.cursor]\nsecret = 'stop'", r"services\.cursor\.secret: expected"),
        ("[policy]\nservices = 3", r"policy\.services: expected tables"),
        ("policy = 3", r"policy: expected a table"),
    ],
)  # fmt: skip
def test_invalid_policy_is_a_clear_error(toml: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_settings(tomllib.loads(toml), "config.toml")


def test_a_user_defined_service_may_have_a_policy() -> None:
    toml = """
[[services]]
id = "corp"
name = "Corp gateway"
hosts = ["llm.corp.example"]
profile = "openai-compatible"
[policy.services.corp]
secret = "block"
"""
    policy = table(toml)
    assert finding_level(finding(Severity.HIGH), "corp", policy) is Level.BLOCK


def test_explicit_monitor_mode_caps_every_policy_entry_at_alert() -> None:
    from egress_watch.decide.policy import parse_policy

    table: PolicyTable = parse_policy({"critical": "block"}, ["openai"])
    finding_ = Finding(Category.SECRET, "aws-access-key", Severity.CRITICAL, 0, 1, "m", "fp")
    assert decide([finding_], "openai", table).decision.action is Action.BLOCK
    capped = decide([finding_], "openai", table, monitor_only=True)
    assert capped.decision.action is Action.PASS
    assert capped.alerts == (finding_,)

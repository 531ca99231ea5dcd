"""Shadow-AI discovery: passed-through hosts that look like AI services missing from the catalog."""

from __future__ import annotations

import pytest

from egress_watch.catalog.discovery import DiscoveryRules, ai_suspicion
from egress_watch.catalog.services import builtin_catalog


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("api.ai21.com", "known AI service host"),
        ("eu.api.replicate.com", "known AI service host"),
        ("llm.corp.example", "name contains 'llm'"),
        ("gpt-gateway.internal.example:8443", "name contains 'gpt'"),
        ("inference.acme-cloud.example", "name contains 'inference'"),
        ("something.ai", "name contains 'ai'"),
        ("API.OLLAMA.internal.", "name contains 'ollama'"),
    ],
)
def test_suspects(host: str, reason: str) -> None:
    assert ai_suspicion(host, builtin_catalog()) == reason


@pytest.mark.parametrize(
    "host",
    [
        "api.openai.com",  # in the catalog: inspected, not a suspect
        "us-central1-aiplatform.googleapis.com",
        "github.com",
        "mail.example.com",  # "ai" only inside a word
        "maintainer.example.org",
        "10.0.0.5",
        "[2001:db8::1]:443",
        "",
    ],
)
def test_not_suspects(host: str) -> None:
    assert ai_suspicion(host, builtin_catalog()) is None


def test_rules_are_configurable() -> None:
    rules = DiscoveryRules(
        keywords=("copilotx",),
        known_hosts=("models.corp.example",),
        ignored_hosts=("llm.corp.example",),
    )
    catalog = builtin_catalog()
    assert ai_suspicion("llm.corp.example", catalog, rules) is None
    assert ai_suspicion("a.models.corp.example", catalog, rules) == "known AI service host"
    assert ai_suspicion("copilotx.example", catalog, rules) == "name contains 'copilotx'"

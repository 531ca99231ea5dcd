"""Routing: catalog hosts and paths to services and API families; everything else is not ours."""

from __future__ import annotations

import re

import pytest

from egress_watch.catalog.services import builtin_catalog, host_pattern_regex
from egress_watch.model import Route


@pytest.mark.parametrize(
    ("host", "path", "expected"),
    [
        ("api.openai.com", "/v1/chat/completions", Route("openai", "openai-chat")),
        ("API.OpenAI.com", "/v1/chat/completions?x=1", Route("openai", "openai-chat")),
        ("us.api.openai.com", "/v1/chat/completions", Route("openai", "openai-chat")),
        ("api.openai.com", "/v1/embeddings", Route("openai", "openai-embeddings")),
        ("api.anthropic.com", "/v1/messages", Route("anthropic", "anthropic-messages")),
        (
            "api.anthropic.com",
            "/v1/messages/count_tokens",
            Route("anthropic", "anthropic-messages"),
        ),
        ("example.org", "/v1/chat/completions", None),
        ("api.openai.com.evil.test", "/v1/chat/completions", None),
        ("notapi.openai.com", "/", None),
    ],
)
def test_route(host: str, path: str, expected: Route | None) -> None:
    assert builtin_catalog().route(host, path) == expected


@pytest.mark.parametrize(
    ("candidate", "allowed"),
    [
        ("api.openai.com:443", True),
        ("eu.api.openai.com:443", True),
        ("api.anthropic.com:443", True),
        ("api.openai.com.evil.test:443", False),
        ("xapi.openai.com:443", False),
        ("example.org:443", False),
        ("127.0.0.1:443", False),
    ],
)
def test_allow_hosts_regexes_decrypt_only_catalog_hosts(candidate: str, allowed: bool) -> None:
    patterns = builtin_catalog().allow_hosts()
    assert any(re.search(p, candidate, re.IGNORECASE) for p in patterns) is allowed


def test_wildcard_does_not_match_bare_domain() -> None:
    assert not re.search(host_pattern_regex("*.example.com"), "example.com:443")

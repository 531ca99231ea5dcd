"""Shadow-AI discovery: does a passed-through host look like an AI service the catalog lacks? (pure)

The proxy never decrypts such hosts; it only sees the name (SNI). A host is flagged when it
is on a list of known AI API hosts, or when one of its name tokens (split on dots and dashes)
is an AI keyword, so the user can add it to ``[[services]]`` in config.toml.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from egress_watch.catalog.services import Catalog

# Name tokens that mark AI services; ``ai`` also catches the .ai top-level domain.
DEFAULT_KEYWORDS = (
    "ai",
    "llm",
    "llms",
    "gpt",
    "openai",
    "anthropic",
    "claude",
    "gemini",
    "copilot",
    "cursor",
    "codeium",
    "windsurf",
    "tabnine",
    "mistral",
    "ollama",
    "inference",
    "genai",
    "aiplatform",
    "bedrock",
    "qwen",
    "deepseek",
    "huggingface",
    "perplexity",
    "replicate",
    "cohere",
)
# AI API hosts seen in client defaults but not (yet) in the built-in catalog.
DEFAULT_KNOWN_HOSTS = (
    "api.replicate.com",
    "api.ai21.com",
    "api.voyageai.com",
    "api-inference.huggingface.co",
    "api.lambdalabs.com",
    "api.hyperbolic.xyz",
    "api.featherless.ai",
    "api.lmstudio.ai",
    "api.codegpt.co",
    "api.supermaven.com",
    "api.blackbox.ai",
    "api.phind.com",
)
_TOKEN_SPLIT = re.compile(r"[.\-_]")


@dataclass(frozen=True, slots=True)
class DiscoveryRules:
    """What makes a host look like an AI service; both lists can come from config."""

    keywords: tuple[str, ...] = DEFAULT_KEYWORDS
    known_hosts: tuple[str, ...] = DEFAULT_KNOWN_HOSTS
    ignored_hosts: tuple[str, ...] = ()


def _normalise(host: str) -> str:
    host = host.strip().lower().rstrip(".")
    if host.startswith("[") or host.count(":") > 1:  # IPv6 literal: no name to judge
        return ""
    return host.split(":", 1)[0]


def ai_suspicion(host: str, catalog: Catalog, rules: DiscoveryRules | None = None) -> str | None:
    """Why ``host`` looks like an uncatalogued AI service, or None when it does not.

    Hosts in the catalog are not suspects (they are inspected), nor are IP literals.
    """
    rules = rules or DiscoveryRules()
    name = _normalise(host)
    if not name or re.fullmatch(r"[\d.]+", name) or catalog.route(name, "/") is not None:
        return None
    if name in rules.ignored_hosts:
        return None
    if name in rules.known_hosts or any(name.endswith("." + h) for h in rules.known_hosts):
        return "known AI service host"
    tokens = set(_TOKEN_SPLIT.split(name))
    matched = sorted(tokens & set(rules.keywords))
    if matched:
        return f"name contains {', '.join(repr(t) for t in matched)}"
    return None

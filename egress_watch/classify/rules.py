"""Our own rule pack: provider token formats detect-secrets has no plugin for.

Adding a rule is adding one row to ``RULES``. Each row names the literal anchors every match
contains (lower case; the prefilter finds them), so most text never reaches the pattern.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from egress_watch.classify.kinds import Kind
from egress_watch.classify.prefilter import Anchor, anchors
from egress_watch.model import Severity

_C, _H, _M = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule; the value is the pattern's first group if it has one, else the whole match."""

    kind: Kind
    pattern: re.Pattern[str]
    anchors: tuple[Anchor, ...]


def _rule(
    rule: str,
    pattern: str,
    severity: Severity,
    reason: str,
    literals: str,
    confirm: str = "",
    identifier: bool = False,
) -> Rule:
    """A row of ``RULES``; patterns are ASCII-only, so ``\\w`` never runs into other scripts."""
    gate = anchors(literals, confirm or None)
    kind = Kind(rule, severity, reason, identifier=identifier)
    return Rule(kind, re.compile(pattern, re.ASCII), gate)


# fmt: off
RULES: Final[tuple[Rule, ...]] = (
    _rule("openai-key", r"sk-(?:proj|svcacct)-[\w-]{32,}", _C, "OpenAI API key", "sk-"),
    _rule("openai-key", r"(?<![\w-])sk-[A-Za-z0-9]{48}(?![\w-])", _C, "OpenAI API key", "sk-"),
    _rule("openai-admin-key", r"sk-admin-[\w-]{32,}", _C, "OpenAI admin key", "sk-"),
    _rule("anthropic-key", r"sk-ant-api03-[\w-]{32,}", _C, "Anthropic API key", "sk-"),
    _rule("anthropic-admin-key", r"sk-ant-admin01-[\w-]{32,}", _C, "Anthropic admin key", "sk-"),
    _rule("anthropic-oauth-token", r"sk-ant-oat01-[\w-]{32,}", _C, "Anthropic OAuth token", "sk-"),
    _rule("github-fine-grained-token", r"github_pat_[A-Za-z0-9_]{82}(?!\w)", _C,
          "GitHub fine-grained token", "github_pat_"),
    _rule("google-api-key", r"AIza[A-Za-z0-9_-]{35}(?![\w-])", _H, "Google API key", "aiza"),
    _rule("aws-secret-key", r"(?i:aws_?secret_?access_?key)[\"']?\s*(?::=|=>|[:=])\s*[\"']?"
          r"([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])", _C, "AWS secret access key",
          "aws", r"aws_?secret_?access_?key"),
    _rule("aws-session-token", r"(?i:aws_?session_?token)[\"']?\s*(?::=|=>|[:=])\s*[\"']?"
          r"([A-Za-z0-9/+=]{100,})", _C, "AWS session token", "aws", r"aws_?session_?token"),
    _rule("gcp-service-account", r"\"private_key_id\"\s*:\s*\"([0-9a-f]{40})\"", _C,
          "service-account key id", "private_key_id", identifier=True),
    _rule("google-oauth-secret", r"GOCSPX-[A-Za-z0-9_-]{28}(?![\w-])", _H,
          "Google OAuth client secret", "gocspx-"),
    _rule("google-oauth-token", r"ya29\.[A-Za-z0-9_-]{30,}", _H, "Google OAuth access token",
          "ya29."),
    _rule("stripe-key", r"[rs]k_live_[0-9a-zA-Z]{24,247}(?![0-9a-zA-Z])", _C, "Stripe live key",
          "rk_live_ sk_live_"),
    _rule("slack-app-token", r"xapp-\d-[A-Z0-9]+-\d+-[a-f0-9]{32,}", _H, "Slack app token",
          "xapp-"),
    _rule("azure-sas-token", r"[?&;]sig=([A-Za-z0-9%/+]{40,}(?:%3D|=)*)", _C,
          "Azure shared access signature", "sig="),
    _rule("azure-shared-access-key", r"(?i:SharedAccessKey)=([A-Za-z0-9/+]{42,44}=?)", _C,
          "Azure shared access key (connection string)", "sharedaccesskey="),
    _rule("huggingface-token", r"(?<![\w-])hf_[A-Za-z0-9]{34}(?![\w-])", _H,
          "Hugging Face access token", "hf_"),
    _rule("npm-token", r"(?<![\w-])npm_[A-Za-z0-9]{36}(?![\w-])", _C, "npm access token",
          "npm_"),
    _rule("dockerhub-token", r"dckr_pat_[A-Za-z0-9_-]{27,}", _H, "Docker Hub access token",
          "dckr_pat_"),
    _rule("digitalocean-token", r"do[opr]_v1_[a-f0-9]{64}", _C, "DigitalOcean token",
          "dop_v1_ doo_v1_ dor_v1_"),
    _rule("mailgun-key", r"(?<![\w-])key-[0-9a-f]{32}(?![\w-])", _H, "Mailgun API key",
          "key-", r"key-[0-9a-f]{32}"),
    _rule("shopify-token", r"shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}", _H, "Shopify access token",
          "shpat_ shpca_ shppa_ shpss_"),
    _rule("atlassian-token", r"ATATT3[A-Za-z0-9_=-]{150,}", _H, "Atlassian API token", "atatt3"),
    _rule("databricks-token", r"(?<![\w-])dapi[a-f0-9]{32}(?:-\d)?(?![\w-])", _H,
          "Databricks access token", "dapi", r"dapi[a-f0-9]{32}"),
    _rule("heroku-key", r"HRKU-[A-Za-z0-9_-]{60}", _H, "Heroku API key", "hrku-"),
    _rule("heroku-key", r"(?i:heroku[\w-]*(?:key|token))[\"']?\s*(?::=|=>|[:=])\s*[\"']?"
          r"([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})", _H,
          "Heroku API key", "heroku"),
    _rule("datadog-key", r"(?i:(?:dd|datadog)_?(?:api|app|application)_?key)[\"']?\s*"
          r"(?::=|=>|[:=])\s*[\"']?([0-9a-f]{40}|[0-9a-f]{32})(?![0-9a-f])", _H,
          "Datadog API or application key", "dd_api ddapi dd_app ddapp datadog"),
    _rule("newrelic-key", r"NR(?:AK|II)-[A-Za-z0-9_-]{27,32}", _H, "New Relic API key",
          "nrak- nrii-"),
    _rule("newrelic-key", r"(?<![\w-])[a-f0-9]{36}NRAL(?![\w-])", _H, "New Relic license key",
          "nral"),
    _rule("sentry-dsn", r"https?://([0-9a-f]{32})(?::[0-9a-f]{32})?@[\w.-]*sentry[\w.-]*/\d+",
          _M, "Sentry DSN (its client key)", "sentry"),
    _rule("sentry-token", r"sntry[su]_[A-Za-z0-9+/=_-]{50,}", _H, "Sentry auth token",
          "sntrys_ sntryu_"),
    _rule("discord-webhook", r"(?:https?://)?(?:ptb\.|canary\.)?discord(?:app)?\.com/api/"
          r"webhooks/\d+/[\w-]{60,}", _H, "Discord webhook URL", "discord"),
    _rule("basic-auth-url", r"rediss?://:([^@\s/]{4,})@", _H, "password in a URL",
          "redis://: rediss://:"),
)
# fmt: on

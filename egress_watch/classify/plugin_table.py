"""How we use each detect-secrets regex plugin: our rule ids, the prefilter gate, the span.

Keyed by the plugin's ``secret_type``; secrets.py (the only module importing detect_secrets)
builds the detectors from this table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from egress_watch.classify.kinds import Kind
from egress_watch.classify.prefilter import Anchor, Gate, Shape, anchors
from egress_watch.classify.spans import (
    Span,
    after_eq_span,
    jwt_span,
    match_span,
    npm_span,
    strip_span,
    value_span,
)
from egress_watch.model import Severity

_C, _H = Severity.CRITICAL, Severity.HIGH


@dataclass(frozen=True, slots=True)
class PluginRow:
    """How we use one detect-secrets regex plugin."""

    kinds: tuple[Kind, ...]  # one per regex of the plugin's denylist; the last one repeats
    gate: Gate  # anchors present wherever the plugin can match (lower-cased text)
    span: Span = value_span


def _row(
    rule: str, severity: Severity, reason: str, gate: Gate, span: Span = value_span
) -> PluginRow:
    """A row for a plugin whose regexes all mean one rule."""
    return PluginRow((Kind(rule, severity, reason),), gate, span)


def _words(prefixes: str, words: str) -> str:
    """Every ``prefix + sep + [api] + word`` literal: ``cl_apikey``, ``slpass``, …"""
    return " ".join(
        p + sep + api + w
        for p in prefixes.split()
        for sep in ("", "-", "_")
        for api in ("", "api")
        for w in words.split()
    )


def gate(literals: str, confirm: str | None = None) -> Gate:
    """A gate of space-separated literal anchors sharing one confirm pattern."""
    return Gate(anchors(literals, confirm))


# basic_auth.RESERVED_CHARACTERS + SUB_DELIMITER_CHARACTERS (a test checks they still agree)
URL_DELIMITERS: Final = ":/?#[]@" + "!$&'()*+,;="
_URL_USER = "[^" + re.escape(URL_DELIMITERS) + r"\s]+"
_IBM_ASSIGNED = r"""["']?\]? *(?:=>|:=|::|[=:]| +) *["']?[\w-]{44}"""
_HEXES = " ".join(f"ap{c}" for c in "0123456789abcdef")
# fmt: off
PLUGINS: Final[dict[str, PluginRow]] = {
    "AWS Access Key": PluginRow(
        (Kind("aws-access-key", _C, "AWS access key id"),
         Kind("aws-secret-key", _C, "AWS secret access key")),
        Gate((*anchors("akia asia abia acca", "{}(?!iosfodnn7example)[a-z0-9]{16}"),
              Anchor("a3t", "a3t[a-z0-9]{17}"),
              Anchor("aws", r"aws.{0,20}?(?:key|pwd|pw|pass|token)")))),
    "Artifactory Credentials": _row("artifactory-token", _H, "Artifactory token",
        Gate((*anchors("akc", r"""(?<![^\s=:"])akc[a-z0-9]{10}"""),
              *anchors(_HEXES, r"""(?<![^\s=:"])ap[\da-f][a-z0-9]{8}"""))), strip_span),
    "Azure Storage Account access key": _row("azure-storage-key", _C, "Azure storage account key",
        gate("accountkey="), after_eq_span),
    "Basic Auth Credentials": PluginRow(
        (Kind("basic-auth-url", _H, "password in a URL", generic=True),),
        gate("://", f"://{_URL_USER}:{_URL_USER}@")),
    "Cloudant Credentials": _row("cloudant-credential", _H, "Cloudant credential",
        gate("cloudant " + _words("cl clou", "key pw pass token"))),
    "Discord Bot Token": _row("discord-bot-token", _H, "Discord bot token",
        Gate((), (Shape(r"\.(?=[\w-]{6}\.[\w-]{27})"),))),
    "GitHub Token": _row("github-token", _C, "GitHub token", gate("ghp_ gho_ ghu_ ghs_ ghr_"),
        match_span),
    "GitLab Token": _row("gitlab-token", _C, "GitLab token",
        gate("glpat- gldt- glft- glsoat- glrt- glcbt- glimt- glptt- glagent- gloas- gr1348941"),
        match_span),
    "IBM Cloud IAM Key": _row("ibm-cloud-iam-key", _H, "IBM Cloud IAM key",
        gate("key pwd pass token", "{}(?:word)?" + _IBM_ASSIGNED)),
    "IBM COS HMAC Credentials": _row("ibm-cos-hmac-key", _H, "IBM COS HMAC secret",
        gate("secret", r"secret[-_]?(?:access)?[-_]?key")),
    "JSON Web Token": _row("jwt", _H, "JSON web token",
        Gate((Anchor("eyj", r"eyj[a-z0-9_=-]{1,4096}\.", once_per_run=True),)), jwt_span),
    "Mailchimp Access Key": _row("mailchimp-key", _H, "Mailchimp API key",
        Gate((), (Shape(r"-us\d"),))),
    "NPM tokens": _row("npm-token", _C, "npm auth token", gate("_authtoken="), npm_span),
    "OpenAI Token": _row("openai-key", _C, "OpenAI API key", gate("t3blbkfj")),
    "PyPI Token": _row("pypi-token", _C, "PyPI upload token", gate("pypi-age")),
    "SendGrid API Key": _row("sendgrid-key", _H, "SendGrid API key",
        gate("sg.", r"sg\.[\w-]{22}\.")),
    "Slack Token": PluginRow(
        (Kind("slack-token", _H, "Slack token"), Kind("slack-webhook", _H, "Slack webhook URL")),
        gate("xoxa- xoxb- xoxp- xoxo- xoxs- xoxr- hooks.slack.com")),
    "SoftLayer Credentials": _row("softlayer-key", _H, "SoftLayer API key",
        gate("softlayer " + _words("sl", "key pwd pass token"))),
    "Square OAuth Secret": _row("square-oauth-secret", _H, "Square OAuth secret", gate("sq0csp-")),
    "Stripe Access Key": _row("stripe-key", _C, "Stripe live key", gate("rk_live_ sk_live_")),
    "Telegram Bot Token": _row("telegram-bot-token", _H, "Telegram bot token",
        Gate((), (Shape(r":(?<=\d{8}:)(?=[\w-]{35})"),))),
    "Twilio API Key": PluginRow(
        (Kind("twilio-account-sid", _H, "Twilio account SID", identifier=True),
         Kind("twilio-key", _H, "Twilio key")),
        Gate((), (Shape("AC[a-z0-9]{32}", lowered=False), Shape("SK[a-z0-9]{32}", lowered=False)))),
}
# fmt: on
# Plugins with their own detector class below, and plugins we leave out on purpose.
CUSTOM: Final = frozenset({"Private Key", "Secret Keyword", "Base64 High Entropy String"})
LEFT_OUT: Final = {
    "Hex High Entropy String": "flags every hash and id; hex is never a secret on its own here",
    "Public IP (ipv4)": "an address is infra, not a secret (the infra classifier owns it)",
}

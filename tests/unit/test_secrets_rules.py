"""The rule pack beyond detect-secrets: each provider format found exactly, look-alikes not.

Fake values are built at run time from a prefix written in pieces and hash-derived characters.
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
from pathlib import Path

import pytest

from egress_watch.classify import secrets as secrets_module
from egress_watch.classify.prefilter import Anchor, Gate, Prefilter
from egress_watch.classify.secrets import SecretScanner
from egress_watch.model import Severity
from tests.unit.test_secrets import AWS_ID, B64, HEX, URLSAFE, fake

C, H, M = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM
UPPER_DIGITS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
UUID = "-".join(fake(f"uuid{i}", n, HEX) for i, n in enumerate((8, 4, 4, 4, 12)))
LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

# (case id, text before, value, text after, rule, severity)
CASES: list[tuple[str, str, str, str, str, Severity]] = [
    ("aws-session", "aws_session_token = ", fake("sess", 300, B64), "\n", "aws-session-token", C),
    ("google-oauth-secret", "client_secret: ", "GOC" + "SPX-" + fake("gocspx", 28, URLSAFE), "\n",
     "google-oauth-secret", H),
    ("google-oauth-token", "Authorization: Bearer ", "ya" + "29." + fake("ya29", 120, URLSAFE),
     "\n", "google-oauth-token", H),
    ("stripe-long", "STRIPE=", "sk" + "_live_" + fake("stripe99", 99), "\n", "stripe-key", C),
    ("stripe-restricted", "key: ", "rk" + "_live_" + fake("rk", 24), "\n", "stripe-key", C),
    ("slack-app", "SLACK_APP=", "xa" + "pp-1-A" + fake("xa", 10, UPPER_DIGITS) + "-1234567890-"
     + fake("xapp", 64, HEX), "\n", "slack-app-token", H),
    ("azure-sas", "https://acct.blob.core.windows.net/c?sv=2022-11-02&sp=r&sig=",
     fake("sas", 43, B64) + "%3D", "\n", "azure-sas-token", C),
    ("azure-sb", "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=Root;"
     "SharedAccessKey=", fake("sbkey", 43, B64) + "=", "\n", "azure-shared-access-key", C),
    ("huggingface", "HF_TOKEN=", "h" + "f_" + fake("hf", 34, LETTERS), "\n",
     "huggingface-token", H),
    ("npm-bare", "NPM_TOKEN=", "np" + "m_" + fake("npm2", 36), "\n", "npm-token", C),
    ("dockerhub", "docker login -p ", "dckr" + "_pat_" + fake("dckr", 27, URLSAFE), " -u me\n",
     "dockerhub-token", H),
    ("digitalocean", "DO=", "do" + "p_v1_" + fake("do", 64, HEX), "\n", "digitalocean-token", C),
    ("mailgun", "mg: ", "ke" + "y-" + fake("mg", 32, HEX), "\n", "mailgun-key", H),
    ("shopify", "SHOPIFY=", "shp" + "at_" + fake("shp", 32, HEX), "\n", "shopify-token", H),
    ("atlassian", "JIRA=", "ATA" + "TT3" + fake("atl", 180, URLSAFE), "\n", "atlassian-token", H),
    ("databricks", "host = x\ntoken = ", "da" + "pi" + fake("dapi", 32, HEX), "\n",
     "databricks-token", H),
    ("heroku-new", "HEROKU=", "HR" + "KU-" + fake("hrku", 60, URLSAFE), "\n", "heroku-key", H),
    ("heroku-legacy", "HEROKU_API_KEY=", UUID, "\n", "heroku-key", H),
    ("datadog", "DD_API_KEY=", fake("dd", 32, HEX), "\n", "datadog-key", H),
    ("newrelic-user", "NEW_RELIC=", "NR" + "AK-" + fake("nrak", 27, UPPER_DIGITS), "\n",
     "newrelic-key", H),
    ("newrelic-license", "license_key: ", fake("nral", 36, HEX) + "NR" + "AL", "\n",
     "newrelic-key", H),
    ("sentry-dsn", "dsn = 'https://", fake("dsn", 32, HEX), "@o12345.ingest.sentry.io/678'\n",
     "sentry-dsn", M),
    ("sentry-token", "SENTRY_AUTH_TOKEN=", "sntr" + "ys_" + fake("sntry", 80, URLSAFE), "\n",
     "sentry-token", H),
    ("discord-webhook", "url: ", "https://discord.com/api/" + "webhooks/123456789012345678/"
     + fake("dwh", 68, URLSAFE), "\n", "discord-webhook", H),
    ("redis-no-user", "REDIS_URL=redis://:", fake("redis", 16), "@cache:6379/0\n",
     "basic-auth-url", H),
    ("short-password", "DB_PASSWORD=", "hunter" + "2", "\n", "secret-assignment", H),
]  # fmt: skip


@pytest.fixture(scope="module")
def scanner() -> SecretScanner:
    return SecretScanner()


@pytest.mark.parametrize(("case_id", "before", "value", "after", "rule", "severity"), CASES,
                         ids=[c[0] for c in CASES])  # fmt: skip
def test_each_provider_format_is_found_exactly(
    scanner: SecretScanner,
    case_id: str,
    before: str,
    value: str,
    after: str,
    rule: str,
    severity: Severity,
) -> None:
    text = before + value + after
    assert [(m.rule, m.severity, text[m.start : m.end]) for m in scanner.scan(text)] == [
        (rule, severity, value)
    ]


LOOKALIKES: list[tuple[str, str]] = [
    ("hf-identifier", "model = load('hf_" + "transformers_pretrained_model_name')"),
    ("npm-config", "npm_" + "config_cache=/tmp/npm"),
    ("key-value", "a key-" + "value store with key-" + "based lookup"),
    ("short-sig", "url?sig=" + "abc123&x=1"),
    ("oauth-placeholder", "client_secret: GOC" + "SPX-" + "x" * 28),
    ("ya29-doc", "tokens look like ya" + "29.<access-token>"),
    ("dd-env-ref", "DD_API_KEY=${DD_API_KEY}"),
    ("heroku-placeholder", "HEROKU_API_KEY=<your-heroku-api-key>"),
    ("sentry-not-hex", "dsn = 'https://public" + "@sentry.example.com/1'"),
    ("dapi-word", "import dapi" + "Client from './dapi'"),
    ("uuid-assignment", f'request_id = "{UUID}"'),
    ("docs-example-id", "aws_access_key_id = AKIA" + "IOSFODNN7EXAMPLE"),
    ("lock-integrity", '"integrity": "sha512-' + fake("lock", 86, B64) + '=="'),
    ("yarn-lock", "  integrity sha1-" + fake("yarn", 27, B64) + "="),
    ("sha256-sum", fake("sum", 64, HEX) + "  dist/app.tar.gz"),
    ("git-sha", "commit " + fake("sha", 40, HEX)),
    ("base64-image", "![x](data:image/png;base64," + base64.b64encode(
        hashlib.sha512(b"img").digest() * 400).decode() + ")"),
    ("pragma-is-not-a-secret", "# pragma: allowlist secret"),
    ("redis-no-password", "REDIS_URL=redis://cache:6379/0"),
]  # fmt: skip


@pytest.mark.parametrize("text", [t for _, t in LOOKALIKES], ids=[i for i, _ in LOOKALIKES])
def test_lookalikes_are_not_findings(scanner: SecretScanner, text: str) -> None:
    assert [(m.rule, m.start) for m in scanner.scan(text)] == []


@pytest.mark.parametrize(
    ("gap", "reason"),
    [(0, "on the same line"), (1, "1 line below"), (3, "3 lines below")],
)
def test_an_aws_key_id_with_its_secret_nearby_says_so(
    scanner: SecretScanner, gap: int, reason: str
) -> None:
    secret = fake("pair", 40, B64)
    sep = "; " if gap == 0 else "\n" * gap
    text = f'aws_access_key_id = "{AWS_ID}"{sep}aws_secret_access_key = "{secret}"\n'
    matches = scanner.scan(text)
    assert [m.rule for m in matches] == ["aws-access-key", "aws-secret-key"]
    assert matches[0].reason == f"AWS access key id with its secret key {reason}"


def test_an_aws_key_id_alone_has_the_plain_reason(scanner: SecretScanner) -> None:
    assert [m.reason for m in scanner.scan(f"id: {AWS_ID}\n")] == ["AWS access key id"]


def test_an_inline_pragma_does_not_hide_a_secret(scanner: SecretScanner) -> None:
    value = fake("pragma", 16) + "9"
    text = f'password = "{value}"  # pragma: allowlist secret\n'
    assert [text[m.start : m.end] for m in scanner.scan(text)] == [value]


def test_our_copy_of_the_url_delimiters_matches_detect_secrets() -> None:
    from detect_secrets.plugins import basic_auth

    from egress_watch.classify.plugin_table import URL_DELIMITERS

    assert URL_DELIMITERS == basic_auth.RESERVED_CHARACTERS + basic_auth.SUB_DELIMITER_CHARACTERS


def test_only_secrets_py_imports_detect_secrets() -> None:
    folder = Path(secrets_module.__file__).parent
    imports = re.compile(r"^\s*(?:from|import) detect_secrets\b", re.MULTILINE)
    importers = {p.name for p in folder.glob("*.py") if imports.search(p.read_text())}
    assert importers == {"secrets.py"}


@pytest.mark.parametrize("literal", ["AKIA", ""])
def test_the_prefilter_rejects_anchors_it_could_never_find(literal: str) -> None:
    with pytest.raises(ValueError, match="lower case"):
        Prefilter([Gate((Anchor(literal),))])


def test_a_common_anchor_needs_a_confirm_that_starts_with_it() -> None:
    with pytest.raises(ValueError, match="common anchor"):
        Prefilter([Gate((Anchor("key", "[a-z]key"),))])


@pytest.mark.parametrize(
    "text",
    [
        "eyJ" * 100_000,  # one long run: the JWT pattern would retry at every eyJ
        "api_key=" * 40_000,  # one long line of keyword hits
        ("://a:b@" * 500 + "\n") * 100,
    ],
    ids=["jwt-run", "keyword-line", "url-lines"],
)
def test_pathological_text_costs_linear_time(scanner: SecretScanner, text: str) -> None:
    started = time.perf_counter()
    scanner.scan(text)
    assert time.perf_counter() - started < 5.0  # quadratic behaviour took minutes here


def test_a_secret_far_along_a_long_dense_line_is_still_found(scanner: SecretScanner) -> None:
    token = "gh" + "p_" + fake("far", 36)
    text = "api_key=x; " * 20_000 + f"GITHUB_TOKEN={token}; " + "api_key=x; " * 1000
    assert [text[m.start : m.end] for m in scanner.scan(text)] == [token]

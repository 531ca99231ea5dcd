"""SecretScanner: every rule finds its value at exact offsets; placeholders and code do not.

Every fake secret is built at run time from a prefix and hash-derived characters, so this file
holds no live-looking secret (our own repository is scanned by detect-secrets).
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import string
import threading

import pytest

from egress_watch.classify import secrets
from egress_watch.classify.secrets import SecretMatch, SecretScanner
from egress_watch.model import Severity

C, H, L = Severity.CRITICAL, Severity.HIGH, Severity.LOW
UPPER_DIGITS = string.ascii_uppercase + string.digits
ALNUM = string.ascii_letters + string.digits
B64 = ALNUM + "+/"
URLSAFE = ALNUM + "-_"
HEX = "0123456789abcdef"


def fake(seed: str, length: int, alphabet: str = ALNUM) -> str:
    """Deterministic random-looking characters: the same seed always gives the same value."""
    out: list[str] = []
    counter = 0
    while len(out) < length:
        digest = hashlib.sha256(f"{seed}:{counter}".encode()).digest()
        out += [alphabet[b % len(alphabet)] for b in digest]
        counter += 1
    return "".join(out[:length])


def jwt() -> str:
    def segment(obj: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    header, claims = segment({"alg": "HS256", "typ": "JWT"}), segment({"sub": "u-42", "iat": 1})
    return header + "." + claims + "." + fake("jwt-sig", 43, URLSAFE)


def pem(newline: str, label: str = "RSA PRIVATE KEY") -> str:
    body = newline.join("MII" + fake(f"pem{i}", 61, B64) for i in range(6))
    return f"-----BEGIN {label}-----{newline}{body}{newline}-----END {label}-----"


def putty() -> str:
    lines = [fake(f"putty{i}", 64, B64) for i in range(4)]
    return (
        "PuTTY-User-Key-File-2: ssh-rsa\nEncryption: none\nComment: rsa-key\nPublic-Lines: 2\n"
        f"{lines[0]}\n{lines[1]}\nPrivate-Lines: 2\n{lines[2]}\n{lines[3]}\n"
        f"Private-MAC: {fake('mac', 40, HEX)}"
    )


AWS_ID = "AK" + "IA" + fake("aws-id", 16, UPPER_DIGITS)
GHP = "gh" + "p_" + fake("ghp", 36)
ANT = "sk-" + "ant-"
OAI = "sk-"
LOWER_DIGITS = string.ascii_lowercase + string.digits
SLACK_HOOK = "https://hooks.slack.com/services/T" + fake("t", 8, UPPER_DIGITS) + "/B"
SLACK_HOOK += fake("b", 8, UPPER_DIGITS) + "/" + fake("w", 24)

# Each fake value, by case id: a prefix written in pieces plus hash-derived characters.
VALUES: dict[str, str] = {
    "aws-id": AWS_ID,
    "aws-secret": fake("aws-secret", 40, B64),
    "aws-secret-unquoted": fake("aws-secret-2", 40, B64),
    "github": GHP,
    "github-fine-grained": "github" + "_pat_" + fake("pat1", 22) + "_" + fake("pat2", 59),
    "gitlab": "gl" + "pat-" + fake("glpat", 20),
    "slack": "xo" + "xb-" + fake("s1", 11, "0123456789") + "-" + fake("s2", 24, LOWER_DIGITS),
    "slack-webhook": SLACK_HOOK,
    "stripe": "sk" + "_live_" + fake("stripe", 24),
    "twilio": "S" + "K" + fake("twilio", 32, HEX),
    "sendgrid": "S" + "G." + fake("sg1", 22, URLSAFE) + "." + fake("sg2", 43, URLSAFE),
    "mailchimp": fake("mc", 32, HEX) + "-us" + "6",
    "npm": "npm" + "_" + fake("npm", 36),
    "pypi": "pypi" + "-AgEIcHlwaS5vcmc" + fake("pypi", 70, URLSAFE),
    "discord": "M" + fake("d1", 23) + "." + fake("d2", 6) + "." + fake("d3", 27),
    "telegram": "123456789" + ":" + fake("tg", 35, URLSAFE),
    "square": "sq0" + "csp-" + fake("sq", 43, URLSAFE),
    "azure": fake("az", 86, B64) + "==",
    "artifactory": "AK" + "C" + fake("art", 60),
    "jwt": jwt(),
    "openai-project": OAI + "proj-" + fake("oai", 100, URLSAFE),
    "openai-service": OAI + "svcacct-" + fake("svc", 80, URLSAFE),
    "openai-admin": OAI + "admin-" + fake("adm", 80, URLSAFE),
    "openai-legacy": OAI + fake("legacy", 48),
    "openai-t3blbk": OAI + fake("t3a", 20) + "T3Blbk" + "FJ" + fake("t3b", 20),
    "anthropic": ANT + "api03-" + fake("ant", 93, URLSAFE) + "AA",
    "anthropic-admin": ANT + "admin01-" + fake("antadm", 93, URLSAFE) + "AA",
    "anthropic-oauth": ANT + "oat01-" + fake("oat", 93, URLSAFE) + "AA",
    "google": "AI" + "za" + fake("gcp", 35, URLSAFE),
    "basic-auth": fake("pg", 16),
    "password-code": fake("pw", 14) + "!",
    "password-json": fake("pwj", 12),
    "password-dotenv": fake("pwe", 12),
    "password-yaml": fake("pwy", 12),
    "connection-string": fake("cs", 12) + "!",
    "jdbc-query": fake("jdbc", 12),
    "secret-key-dotenv": fake("sk", 50, URLSAFE),
    "entropy-token": fake("ent", 40),
    "ibm-cos": fake("cos", 48, HEX),
    "softlayer": fake("sl", 64, LOWER_DIGITS),
    "pem": pem("\n"),
    "pem-openssh": pem("\n", "OPENSSH PRIVATE KEY"),
    "pem-encrypted": pem("\n", "ENCRYPTED PRIVATE KEY"),
    "pem-json-escaped": pem("\\n", "PRIVATE KEY"),
    "putty": putty(),
}

# (case id, text with {v} where the value goes, rule, severity)
POSITIVES: list[tuple[str, str, str, Severity]] = [
    ("aws-id", 'aws_access_key_id = "{v}"\n', "aws-access-key", C),
    ("aws-secret", 'aws_secret_access_key = "{v}"', "aws-secret-key", C),
    ("aws-secret-unquoted", "[default]\naws_secret_access_key = {v}\n", "aws-secret-key", C),
    ("github", "export GITHUB_TOKEN={v}\n", "github-token", C),
    ("github-fine-grained", "token: {v}", "github-fine-grained-token", C),
    ("gitlab", "GL_TOKEN={v}", "gitlab-token", C),
    ("slack", "token={v} ok", "slack-token", H),
    ("slack-webhook", "hook: {v}\n", "slack-webhook", H),
    ("stripe", 'stripe.api_key = "{v}"', "stripe-key", C),
    ("twilio", 'TWILIO_KEY = "{v}"', "twilio-key", H),
    ("sendgrid", "SENDGRID={v}", "sendgrid-key", H),
    ("mailchimp", "mc = {v};", "mailchimp-key", H),
    ("npm", "//registry.npmjs.org/:_authToken={v}\n", "npm-token", C),
    ("pypi", "password = {v}\n", "pypi-token", C),
    ("discord", "bot: {v}", "discord-bot-token", H),
    ("telegram", 'bot_token = "{v}"', "telegram-bot-token", H),
    ("square", "SQUARE={v}", "square-oauth-secret", H),
    ("azure", "DefaultEndpointsProtocol=https;AccountKey={v};", "azure-storage-key", C),
    ("artifactory", "ARTIFACTORY {v}\n", "artifactory-token", H),
    ("jwt", "Authorization: Bearer {v}\n", "jwt", H),
    ("openai-project", "OPENAI_API_KEY={v}\n", "openai-key", C),
    ("openai-service", "key={v}", "openai-key", C),
    ("openai-admin", "k: {v}", "openai-admin-key", C),
    ("openai-legacy", "key = '{v}'", "openai-key", C),
    ("openai-t3blbk", "key = '{v}'", "openai-key", C),
    ("anthropic", '{{"x-api-key": "{v}"}}', "anthropic-key", C),
    ("anthropic-admin", "ADMIN={v}", "anthropic-admin-key", C),
    ("anthropic-oauth", "CLAUDE_CODE_OAUTH_TOKEN={v}", "anthropic-oauth-token", C),
    ("google", "const config = {{ apiKey: '{v}' }};", "google-api-key", H),
    ("basic-auth", "DATABASE_URL=postgres://app:{v}@db.internal:5432/app", "basic-auth-url", H),
    ("password-code", 'db_password = "{v}"', "secret-assignment", H),
    ("password-json", '{{"password": "{v}", "user": "bob"}}', "secret-assignment", H),
    ("password-dotenv", "DB_PASSWORD={v}  # prod\n", "secret-assignment", H),
    ("password-yaml", "  password: {v}\n", "secret-assignment", H),
    (
        "connection-string",
        "Server=db;Database=app;User ID=app;Password={v};Encrypt=true",
        "secret-assignment",
        H,
    ),
    (
        "jdbc-query",
        "jdbc:mysql://db:3306/app?user=app&password={v}&useSSL=true",
        "secret-assignment",
        H,
    ),
    ("secret-key-dotenv", "SECRET_KEY={v}", "secret-assignment", H),
    ("entropy-token", 'authTokenValue = "{v}"', "high-entropy-string", L),
    ("ibm-cos", 'cos_hmac_secret_access_key = "{v}"', "ibm-cos-hmac-key", H),
    ("softlayer", 'softlayer_api_key = "{v}"', "softlayer-key", H),
    ("pem", "key:\n{v}\n", "private-key", C),
    ("pem-openssh", "{v}", "private-key", C),
    ("pem-encrypted", "{v}", "private-key", C),
    ("putty", "key file:\n{v}\n", "private-key", C),
    (
        "pem-json-escaped",
        '{{"type": "service_account", "private_key": "{v}\\n"}}',
        "private-key",
        C,
    ),
]


def positive_text(case_id: str, template: str) -> tuple[str, int]:
    """The case's text and where its value starts in it."""
    before = template.split("{v}")[0].format()
    return template.format(v=VALUES[case_id]), len(before)


@pytest.fixture(scope="module")
def scanner() -> SecretScanner:
    return SecretScanner()


@pytest.mark.parametrize(
    ("case_id", "template", "rule", "severity"), POSITIVES, ids=[case[0] for case in POSITIVES]
)
def test_each_rule_finds_the_exact_value(
    scanner: SecretScanner, case_id: str, template: str, rule: str, severity: Severity
) -> None:
    text, start = positive_text(case_id, template)
    value = VALUES[case_id]
    matches = scanner.scan(text)
    assert [(m.rule, m.severity, m.start, m.end) for m in matches] == [
        (rule, severity, start, start + len(value))
    ]
    assert text[matches[0].start : matches[0].end] == value
    assert value not in matches[0].reason


def test_secrets_on_later_lines_of_multiline_text(scanner: SecretScanner) -> None:
    lines = [f"line {i}: nothing to see, just the build log for step {i}" for i in range(300)]
    lines[120] = f'    aws_access_key_id = "{AWS_ID}"'
    lines[250] = f"    GITHUB_TOKEN={GHP}  # ci"
    text = "\n".join(lines)
    matches = scanner.scan(text)
    assert [(m.rule, text[m.start : m.end]) for m in matches] == [
        ("aws-access-key", AWS_ID),
        ("github-token", GHP),
    ]
    assert matches[0].start == text.index(AWS_ID)
    assert matches[1].start == text.index(GHP)


def test_the_same_value_twice_is_reported_at_both_places(scanner: SecretScanner) -> None:
    text = f"a={GHP} b={GHP}\n\nagain: {GHP}\n"
    starts = [m.start for m in scanner.scan(text)]
    first = text.index(GHP)
    second = text.index(GHP, first + 1)
    assert starts == [first, second, text.index(GHP, second + 1)]


def test_an_assigned_secret_is_also_found_where_it_is_repeated(scanner: SecretScanner) -> None:
    value = fake("repeat", 14)
    text = f"DB_PASSWORD={value}\n\nRun: psql -U app -W {value} orders\n"
    assert [(m.rule, m.start) for m in scanner.scan(text)] == [
        ("secret-assignment", text.index(value)),
        ("secret-assignment", text.rindex(value)),
    ]


def test_a_value_that_also_appears_in_the_key_name_is_located_at_the_value(
    scanner: SecretScanner,
) -> None:
    value = fake("inname", 10)
    text = f'{value}_password = "{value}"'
    assert [(m.start, m.end) for m in scanner.scan(text)] == [
        (text.index('"') + 1, text.index('"') + 1 + len(value))
    ]


def test_a_provider_key_in_an_assignment_is_one_match_of_the_specific_rule(
    scanner: SecretScanner,
) -> None:
    token = "gh" + "s_" + fake("ghs", 36)
    text = f'api_key = "{AWS_ID}"\nurl = "https://x-access-token:{token}@github.com/o/r.git"'
    assert [(m.rule, text[m.start : m.end]) for m in scanner.scan(text)] == [
        ("aws-access-key", AWS_ID),
        ("github-token", token),
    ]


def test_an_unterminated_private_key_runs_to_the_end_of_its_body(scanner: SecretScanner) -> None:
    block = VALUES["pem"]
    truncated = block[: block.index("-----END")].rstrip("\n")
    text = f"here is the key:\n{truncated}\n\nand some prose after it.\n"
    assert [(m.rule, text[m.start : m.end]) for m in scanner.scan(text)] == [
        ("private-key", truncated)
    ]


PLACEHOLDERS: list[tuple[str, str]] = [
    ("aws-documented-id", 'aws_access_key_id = "AKIA' + 'IOSFODNN7EXAMPLE"'),
    ("aws-documented-secret", 'aws_secret_key = "wJalrXUtnFEMI/K7MDENG/' + 'bPxRfiCYEXAMPLEKEY"'),
    ("your-api-key", 'api_key = "' + 'YOUR_API_KEY"'),
    ("your-token-here", "OPENAI_API_KEY=your-openai-key-here"),
    ("angle-template", "password: <password>"),
    ("angle-token", "Authorization: Bearer <token>"),
    ("shell-var", 'password = "${DB_PASSWORD}"'),
    ("jinja", '"password": "{{ db_password }}"'),
    ("changeme", "DB_PASSWORD=changeme"),
    ("x-run", 'password = "' + "x" * 12 + '"'),
    ("stars", 'password = "************"'),
    ("x-provider-key", "OPENAI_API_KEY=sk-" + "proj-" + "x" * 48),
    ("x-github", "token: gh" + "p_" + "X" * 36),
    ("zero-aws", "AK" + "IA" + "0" * 16),
    ("sequential-aws", "AK" + "IA" + "BCDEFGHIJKLMNOPQ"),
    ("env-lookup", 'secret = os.environ["APP_SECRET"]'),
    ("call", "password = get_password(user)"),
    ("attribute", "password = user.password"),
    ("identifier", "password = new_password"),
    ("type-hint", "def login(user: str, password: str = None) -> bool:"),
    ("type-hint-digits", "    private_key: PKCS7PrivateKeyTypes,"),
    ("dict-key", '{"key": "value", "token": "", "secret": null}'),
    ("keyword-prose", "Never paste a password or secret into the issue tracker."),
    ("key-name-as-value", 'API_KEY_HEADER = "' + 'X-API-Key"'),
    ("camel-name", 'PRIVATE_KEY_USAGE: "' + 'privateKeyUsagePeriod",'),
    ("vault-path", "secret_ref: vault/payments/main"),
    ("bare-pem-header", 'if line.startswith("-----BEGIN RSA ' + 'PRIVATE KEY-----"):'),
    ("truncated-doc-key", 'api_key = "sk-' + 'ant-api03-..."'),
    ("uuid", 'client_secret = "3f2b8c1e-9d4a-4f6b-8e2c-7a1d5b9c0e4f"'),
    ("integrity", '"integrity": "sha512-' + fake("sri", 86, B64) + '=="'),
    ("git-sha", "commit " + fake("sha", 40, HEX) + " (HEAD -> main)"),
    ("hex-digest", 'digest = "' + fake("hex", 64, HEX) + '"'),
    ("ipv4", "connect to 203.0.113.7:8080"),
]  # fmt: skip


@pytest.mark.parametrize("text", [t for _, t in PLACEHOLDERS], ids=[i for i, _ in PLACEHOLDERS])
def test_placeholders_examples_and_code_are_not_secrets(scanner: SecretScanner, text: str) -> None:
    assert scanner.scan(text) == []


def clean_document(size: int) -> str:
    """Prompt-like text with the usual traps (hashes, UUIDs, auth code) and no secret."""
    blocks = [
        "def check(user, password):\n    return hmac.compare_digest(hash_pw(password), user.pw)\n",
        'api_key = os.environ["API_KEY"]\nheaders = {"Authorization": f"Bearer {api_key}"}\n',
        "2025-03-11T12:00:07Z INFO commit={sha} request_id={uuid} took=42ms\n",
        "The token refresh job rotates the key material every night; see the runbook.\n",
        "SELECT id, email FROM users WHERE created_at > now() - interval '7 days';\n",
        "  password: ${DB_PASSWORD}\n  example_key: AKIA" + "IOSFODNN7EXAMPLE\n",
    ]
    parts, i = [], 0
    while sum(map(len, parts)) < size:
        block = blocks[i % len(blocks)]
        sha, uuid = fake(f"c{i}", 40, HEX), fake(f"u{i}", 32, HEX)
        uuid = f"{uuid[:8]}-{uuid[8:12]}-{uuid[12:16]}-{uuid[16:20]}-{uuid[20:]}"
        parts.append(block.replace("{sha}", sha).replace("{uuid}", uuid))
        i += 1
    return "".join(parts)


def test_a_large_clean_text_has_no_findings(scanner: SecretScanner) -> None:
    assert scanner.scan(clean_document(300_000)) == []


def all_positives() -> str:
    return "\n".join(positive_text(case_id, template)[0] for case_id, template, _, _ in POSITIVES)


def test_matches_are_sorted_and_never_overlap(scanner: SecretScanner) -> None:
    text = all_positives()
    matches = scanner.scan(text)
    assert all(a.end <= b.start for a, b in itertools.pairwise(matches))
    assert [text[m.start : m.end] for m in matches] == [VALUES[case[0]] for case in POSITIVES]


def test_a_long_single_line_is_scanned_around_each_hit(scanner: SecretScanner) -> None:
    filler = "x = compute(a, b) ; " * 2000
    text = filler + f'aws_access_key_id = "{AWS_ID}" ' + filler + GHP + filler
    assert [(m.rule, text[m.start : m.end]) for m in scanner.scan(text)] == [
        ("aws-access-key", AWS_ID),
        ("github-token", GHP),
    ]


def test_empty_and_non_ascii_text(scanner: SecretScanner) -> None:
    assert scanner.scan("") == []
    text = f"İstanbul ünïcode ß — token: {GHP}"  # "İ".lower() is two characters long
    assert [text[m.start : m.end] for m in scanner.scan(text)] == [GHP]


def test_one_scanner_is_safe_to_share_between_threads(scanner: SecretScanner) -> None:
    text = all_positives()
    expected = scanner.scan(text)
    results: list[list[SecretMatch]] = []

    def work() -> None:
        results.extend(scanner.scan(text) for _ in range(5))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [expected] * 20


def test_every_detect_secrets_plugin_is_mapped_or_left_out_on_purpose() -> None:
    assert secrets._unmapped_secret_types() == set()

"""Credentials as people paste them into prompts: every shape has a true- and a false-positive
case. Values are built from parts at run time (``fake``), so this file holds no credential."""

from __future__ import annotations

import base64

import pytest

from egress_watch.classify.secrets import SecretScanner
from tests.unit.test_secrets import ALNUM, HEX, fake

LOWER = "abcdefghijklmnopqrstuvwxyz0123456789"
V = {
    "upper": fake("p-upper", 32, ALNUM),
    "lower": fake("p-lower", 40, LOWER),
    "hex": fake("p-hex", 64, HEX),
    "bearer": fake("p-bearer", 48, ALNUM + "-_."),
    "said": fake("p-said", 28, ALNUM),
    "kw": fake("p-kw", 30, ALNUM),
    "env": fake("p-env", 36, ALNUM),
    "pw": "p*ss$w&rd" + fake("p-pw", 4, "0123456789"),
    "kube": fake("p-kube", 24, ALNUM) + "!",
    "netrc": fake("p-netrc", 20, ALNUM),
    "npm": base64.b64encode(("ci:" + fake("p-npm", 16)).encode()).decode(),
    "docker": base64.b64encode(("me:" + fake("p-docker", 18)).encode()).decode(),
}

# (case id, text with {v}, value key): the value must be found, exactly.
FOUND = [
    ("name-ends-in-token", "export CI_DEPLOY_TOKEN={v}\n", "upper"),
    ("lower-case-value", "SENTRY_AUTH_TOKEN={v}\n", "lower"),
    ("signing-key", "webhook_signing_key: {v}\n", "hex"),
    ("access-key", "MINIO_ACCESS_KEY = '{v}'\n", "upper"),
    ("assignment-in-a-sentence", "deploy with CI_DEPLOY_TOKEN={v} please\n", "upper"),
    ("camel-case", "const dbPassword = `{v}`;\n", "kw"),
    ("bearer-header", "Authorization: Bearer {v}\n", "bearer"),
    ("curl-header", "curl -H 'Authorization: token {v}' https://api.internal/x\n", "bearer"),
    ("api-key-header", 'curl -H "X-API-Key: {v}" https://api.internal/x\n', "upper"),
    ("private-token-header", "PRIVATE-TOKEN: {v}\n", "upper"),
    ("chat-my-x-is", "hey, my deploy token is {v} if you need it\n", "said"),
    ("chat-i-set", "I set `STRIPE_WEBHOOK_SECRET` to `{v}` yesterday\n", "said"),
    ("chat-the-password", "the admin password is {v}.\n", "said"),
    ("call-kwarg", 'settings = Settings(x_secret="{v}", debug=True)\n', "kw"),
    ("setdefault", "os.environ.setdefault('PAYMENTS_API_TOKEN', '{v}')\n", "env"),
    ("environ-assign", 'os.environ["SERVICE_TOKEN"] = "{v}"\n', "env"),
    ("url-password-symbols", "postgres://admin:{v}@db.internal:5432/app\n", "pw"),
    ("kube-name-value", "env:\n  - name: DB_PASSWORD\n    value: {v}\n", "kube"),
    ("json-name-value", '[{{"name": "API_TOKEN", "value": "{v}"}}]\n', "kube"),
    ("netrc", "machine api.internal\n  login ci\n  password {v}\n", "netrc"),
    ("netrc-one-line", "machine api.internal login ci password {v}\n", "netrc"),
    ("npmrc-auth", "//registry.internal/:_auth={v}\n", "npm"),
    ("pypirc", "[pypi]\nusername = __token__\npassword = {v}\n", "kw"),
    ("docker-auths", '{{"auths": {{"registry.internal": {{"auth": "{v}"}}}}}}\n', "docker"),
]

# (case id, text): nothing is a secret here.
CLEAN = [
    ("token-count", "MAX_TOKENS=4096\nmax_tokens: 4096\n"),
    ("token-reference", "GITHUB_TOKEN=${{ secrets.GITHUB_TOKEN }}\n"),
    ("env-reference", "export API_TOKEN=$API_TOKEN_FROM_VAULT\n"),
    ("code-call", "token = get_token(session)\napi_key = settings.api_key\n"),
    ("type-annotation", "    password: str = Field(min_length=12)\n"),
    ("code-expression", "token = token_value if ready else None\nkey = cache_key or default\n"),
    ("file-path", "SSL_PRIVATE_KEY=/etc/ssl/private/server.key\n"),
    ("bearer-variable", 'headers = {"Authorization": f"Bearer {token}"}\n'),
    ("prose-about-tokens", "my token is expired, the token is rotated every day\n"),
    ("prose-word", "the password is incorrect, please try again\n"),
    ("url-without-password", "see https://docs.internal/auth/tokens@v2 and git@github.com:o/r\n"),
    ("url-template", "postgres://admin:${DB_PASSWORD}@db.internal/app\n"),
    ("kube-secret-ref", "  - name: DB_PASSWORD\n    valueFrom:\n      secretKeyRef: {name: db}\n"),
    ("kube-plain-value", "  - name: LOG_LEVEL\n    value: debug-verbose\n"),
    ("netrc-word", "Please reset your password in the settings page\n"),
    ("docker-env-auth", '{"auth": "$DOCKER_AUTH"}\n'),
    ("uuid-id", "REQUEST_TOKEN_ID=3f2b8c1e-9d4a-4f6b-8e2c-7a1d5b9c0e4f\n"),
]


@pytest.fixture(scope="module")
def scanner() -> SecretScanner:
    return SecretScanner()


@pytest.mark.parametrize(("case_id", "template", "key"), FOUND, ids=[c[0] for c in FOUND])
def test_prompt_shaped_credentials_are_found_exactly(
    scanner: SecretScanner, case_id: str, template: str, key: str
) -> None:
    value = V[key]
    text = template.format(v=value)
    found = [text[m.start : m.end] for m in scanner.scan(text)]
    assert value in found, (case_id, found)


@pytest.mark.parametrize(("case_id", "text"), CLEAN, ids=[c[0] for c in CLEAN])
def test_look_alikes_are_not_secrets(scanner: SecretScanner, case_id: str, text: str) -> None:
    assert [(m.rule, text[m.start : m.end]) for m in scanner.scan(text)] == []


def test_a_twilio_account_sid_alone_is_an_identifier_not_a_secret(scanner: SecretScanner) -> None:
    sid = "A" + "C" + fake("sid", 32, HEX)
    assert scanner.scan(f"TWILIO_ACCOUNT_SID={sid}\n") == []


def test_a_sid_with_its_auth_token_is_one_finding_with_the_reason(scanner: SecretScanner) -> None:
    sid, token = "A" + "C" + fake("sid2", 32, HEX), fake("twilio-auth", 32, HEX)
    text = f"TWILIO_ACCOUNT_SID={sid}\nTWILIO_AUTH_TOKEN={token}\n"
    matches = scanner.scan(text)
    assert [text[m.start : m.end] for m in matches] == [token]
    assert "paired with its Twilio account SID 1 line above" in matches[0].reason


def test_publishable_keys_are_identifiers(scanner: SecretScanner) -> None:
    publishable = "pk" + "_live_" + fake("pk", 24)
    assert scanner.scan(f"STRIPE_PUBLISHABLE_KEY={publishable}\n") == []


def test_a_service_account_key_id_names_its_private_key(scanner: SecretScanner) -> None:
    from tests.unit.test_secrets import pem

    key_id = fake("said", 40, HEX)
    alone = f'{{"type": "service_account", "private_key_id": "{key_id}"}}\n'
    assert scanner.scan(alone) == []
    block = pem("\\n", "PRIVATE KEY")
    text = f'{{"private_key_id": "{key_id}",\n "private_key": "{block}"}}\n'
    matches = scanner.scan(text)
    assert [m.rule for m in matches] == ["private-key"]
    assert "paired with its service-account key id" in matches[0].reason

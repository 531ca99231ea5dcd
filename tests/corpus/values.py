"""Fake secret values of every family, built at run time from a seeded RNG.

Each prefix is written in pieces so the repository holds no live-looking secret literal. A
family maps to generators of ``(variable name, value)``; the name is what a developer would
call it, or a neutral one, so provider formats must be found without a keyword's help.
"""

from __future__ import annotations

import base64
import json
import random
import string
from collections.abc import Callable

ALNUM = string.ascii_letters + string.digits
URLSAFE = ALNUM + "-_"
B64 = ALNUM + "+/"
HEX = "0123456789abcdef"
UPPER_DIGITS = string.ascii_uppercase + string.digits
LOWER_DIGITS = string.ascii_lowercase + string.digits

Value = tuple[str, str]  # (variable name, value)


def rand(rng: random.Random, n: int, alphabet: str = ALNUM) -> str:
    """``n`` characters of ``alphabet``."""
    return "".join(rng.choice(alphabet) for _ in range(n))


def jwt(rng: random.Random) -> str:
    """A syntactically valid HS256 JWT with a random signature."""

    def segment(obj: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    claims = {"sub": rand(rng, 12), "iat": 1700000000 + rng.randrange(10**6), "role": "admin"}
    return (
        segment({"alg": "HS256", "typ": "JWT"})
        + "."
        + segment(claims)
        + "."
        + rand(rng, 43, URLSAFE)
    )


def pem(rng: random.Random, label: str, newline: str) -> str:
    """A private key block; ``newline`` is ``\\n`` or the two characters of an escaped one."""
    armor = (f"{label} " if label else "") + "PRIVATE" + " KEY"
    body = newline.join(rand(rng, 64, B64) for _ in range(rng.randint(6, 12)))
    return f"-----BEGIN {armor}-----{newline}{body}{newline}-----END {armor}-----"


def uuid(rng: random.Random) -> str:
    """A random UUID-shaped string."""
    return "-".join(rand(rng, n, HEX) for n in (8, 4, 4, 4, 12))


def _pick(rng: random.Random, *choices: Callable[[random.Random], Value]) -> Value:
    return rng.choice(choices)(rng)


# fmt: off
FAMILIES: dict[str, Callable[[random.Random], Value]] = {
    "aws-access-key": lambda r: (r.choice(["aws_access_key_id", "AWS_ACCESS_KEY_ID", "key_id"]),
                                 "AK" + "IA" + rand(r, 16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")),
    "aws-secret-key": lambda r: (r.choice(["aws_secret_access_key", "AWS_SECRET_ACCESS_KEY"]),
                                 rand(r, 40, B64)),
    "aws-session-token": lambda r: ("aws_session_token", "IQoJb3JpZ2luX2Vj" + rand(r, 300, B64)),
    "google-api-key": lambda r: (r.choice(["apiKey", "GOOGLE_MAPS_KEY", "value"]),
                                 "AI" + "za" + rand(r, 35, URLSAFE)),
    "google-oauth": lambda r: _pick(
        r, lambda r: ("client_secret", "GOC" + "SPX-" + rand(r, 28, URLSAFE)),
        lambda r: ("access_token", "ya" + "29." + rand(r, 150, URLSAFE))),
    "openai": lambda r: _pick(
        r, lambda r: ("OPENAI_API_KEY", "sk-" + "proj-" + rand(r, 156, URLSAFE)),
        lambda r: ("openai_key", "sk-" + "svcacct-" + rand(r, 120, URLSAFE)),
        lambda r: ("key", "sk-" + "admin-" + rand(r, 100, URLSAFE)),
        lambda r: ("api_key", "sk-" + rand(r, 20) + "T3Blbk" + "FJ" + rand(r, 20))),
    "anthropic": lambda r: _pick(
        r, lambda r: ("ANTHROPIC_API_KEY", "sk-" + "ant-" + "api03-" + rand(r, 93, URLSAFE) + "AA"),
        lambda r: ("admin_key", "sk-" + "ant-" + "admin01-" + rand(r, 93, URLSAFE) + "AA"),
        lambda r: ("CLAUDE_CODE_OAUTH_TOKEN", "sk-" + "ant-" + "oat01-" + rand(r, 93, URLSAFE))),
    "github": lambda r: _pick(
        r, lambda r: ("GITHUB_TOKEN", "gh" + r.choice("pousr") + "_" + rand(r, 36)),
        lambda r: ("token", "github" + "_pat_" + rand(r, 22) + "_" + rand(r, 59))),
    "gitlab": lambda r: ("GITLAB_TOKEN", "gl" + "pat-" + rand(r, 20, URLSAFE)),
    "slack": lambda r: _pick(
        r, lambda r: ("SLACK_BOT_TOKEN", "xo" + "xb-" + rand(r, 12, string.digits) + "-"
                      + rand(r, 13, string.digits) + "-" + rand(r, 24)),
        lambda r: ("SLACK_APP_TOKEN", "xa" + "pp-1-A" + rand(r, 10, UPPER_DIGITS) + "-"
                   + rand(r, 13, string.digits) + "-" + rand(r, 64, HEX)),
        lambda r: ("webhook_url", "https://hooks.slack.com/services/T" + rand(r, 10, UPPER_DIGITS)
                   + "/B" + rand(r, 10, UPPER_DIGITS) + "/" + rand(r, 24))),
    "stripe": lambda r: ("STRIPE_SECRET_KEY", r.choice(["sk", "rk"]) + "_live_" + rand(r, 99)),
    "azure": lambda r: _pick(
        r, lambda r: ("AZURE_STORAGE_CONNECTION_STRING",
                      "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey="
                      + rand(r, 86, B64) + "=="),
        lambda r: ("SERVICEBUS", "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName="
                   "RootManageSharedAccessKey;SharedAccessKey=" + rand(r, 43, B64) + "="),
        lambda r: ("sas_url", "https://acct.blob.core.windows.net/c/f.txt?sv=2022-11-02&sp=r&sig="
                   + rand(r, 43, B64) + "%3D")),
    "huggingface": lambda r: ("HF_TOKEN", "h" + "f_" + rand(r, 34, string.ascii_letters)),
    "npm": lambda r: _pick(
        r, lambda r: ("NPM_TOKEN", "np" + "m_" + rand(r, 36)),
        lambda r: ("npmrc", "//registry.npmjs.org/:_authToken=" + "np" + "m_" + rand(r, 36))),
    "pypi": lambda r: ("PYPI_TOKEN", "pypi" + "-AgEIcHlwaS5vcmc" + rand(r, 150, URLSAFE)),
    "dockerhub": lambda r: ("DOCKERHUB_TOKEN", "dckr" + "_pat_" + rand(r, 27, URLSAFE)),
    "digitalocean": lambda r: ("DIGITALOCEAN_TOKEN", "do" + "p_v1_" + rand(r, 64, HEX)),
    "twilio": lambda r: ("TWILIO_API_KEY", "S" + "K" + rand(r, 32, HEX)),
    "sendgrid": lambda r: ("SENDGRID_API_KEY", "S" + "G." + rand(r, 22, URLSAFE) + "."
                           + rand(r, 43, URLSAFE)),
    "mailgun": lambda r: ("MAILGUN_KEY", "ke" + "y-" + rand(r, 32, HEX)),
    "shopify": lambda r: ("SHOPIFY_ACCESS_TOKEN", "shp" + r.choice(["at", "ca", "pa", "ss"]) + "_"
                          + rand(r, 32, HEX)),
    "atlassian": lambda r: ("JIRA_API_TOKEN", "ATA" + "TT3" + rand(r, 180, URLSAFE)),
    "databricks": lambda r: ("DATABRICKS_TOKEN", "da" + "pi" + rand(r, 32, HEX)),
    "heroku": lambda r: _pick(
        r, lambda r: ("HEROKU_API_KEY", uuid(r)),
        lambda r: ("heroku_token", "HR" + "KU-" + rand(r, 60, URLSAFE))),
    "datadog": lambda r: ("DD_API_KEY", rand(r, 32, HEX)),
    "newrelic": lambda r: _pick(
        r, lambda r: ("NEW_RELIC_API_KEY", "NR" + "AK-" + rand(r, 27, UPPER_DIGITS)),
        lambda r: ("NEW_RELIC_LICENSE_KEY", rand(r, 36, HEX) + "NR" + "AL")),
    "sentry": lambda r: _pick(
        r, lambda r: ("SENTRY_AUTH_TOKEN", "sntr" + "ys_" + rand(r, 80, URLSAFE)),
        lambda r: ("dsn_key", rand(r, 32, HEX))),  # planted inside a DSN by the context
    "telegram": lambda r: ("TELEGRAM_BOT_TOKEN", str(r.randrange(10**8, 10**10)) + ":AA"
                           + rand(r, 33, URLSAFE)),
    "discord": lambda r: _pick(
        r, lambda r: ("DISCORD_BOT_TOKEN", r.choice("MN") + rand(r, 23) + "." + rand(r, 6, URLSAFE)
                      + "." + rand(r, 38, URLSAFE)),
        lambda r: ("discord_webhook", "https://discord.com/api/" + "webhooks/"
                   + rand(r, 18, string.digits) + "/" + rand(r, 68, URLSAFE))),
    "jwt": lambda r: (r.choice(["Authorization", "id_token", "session"]), jwt(r)),
    "private-key": lambda r: ("private_key", pem(r, r.choice(["RSA", "EC", "OPENSSH", ""]), "\n")),
    "password-url": lambda r: ("DATABASE_URL", ""),  # built by the context (scheme://u:p@h)
    "connection-string": lambda r: ("ConnectionStrings", ""),  # built by the context
    "password": lambda r: (r.choice(["DB_PASSWORD", "password", "db_pass", "SMTP_PASSWORD",
                                     "redis_password", "adminPassword"]),
                           r.choice([rand(r, r.randint(10, 16)) + "!",
                                     r.choice(["hunter", "dragon", "sunshine", "monkey"])
                                     + str(r.randrange(1, 100)),
                                     rand(r, 8, string.ascii_lowercase)])),
    "generic-secret": lambda r: (r.choice(["SECRET_KEY", "client_secret", "JWT_SECRET",
                                           "api_secret", "APP_SECRET", "webhook_secret"]),
                                 rand(r, r.choice([24, 32, 48, 64]), URLSAFE)),
}
# fmt: on

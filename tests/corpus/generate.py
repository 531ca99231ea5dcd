"""A labelled evaluation corpus: prompt-like documents with planted secrets and tricky non-secrets.

Deterministic for a seed: every family of values.py is planted in eight documents of different
kinds (code in several languages, config files, logs, chat prose), and a set of documents holds
only traps (placeholders, documented example keys, hashes, UUIDs, base64 images, lock-file
integrity values, environment lookups, test fixtures, public keys). Each document knows the
exact span and family of each planted secret.

    uv run python -m tests.corpus.generate --write DIR   # one JSON line per document
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.corpus.values import ALNUM, B64, FAMILIES, HEX, URLSAFE, rand, uuid

DOCS_PER_FAMILY = 8
TRAP_DOCS = 80
KINDS = ("python", "js", "go", "java", "env", "yaml", "json", "toml", "shell", "log", "chat")


@dataclass
class Document:
    """One labelled document; ``plants`` are (family, start, end) of each secret value."""

    id: str
    kind: str
    parts: list[str] = field(default_factory=list)
    plants: list[tuple[str, int, int]] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def add(self, text: str) -> None:
        self.parts.append(text)

    def plant(self, family: str, before: str, value: str, after: str) -> None:
        start = sum(map(len, self.parts)) + len(before)
        self.parts.append(before + value + after)
        self.plants.append((family, start, start + len(value)))


# --- names and contexts --------------------------------------------------------------------------


def snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def upper(name: str) -> str:
    return snake(name).upper()


def camel(name: str) -> str:
    head, *rest = snake(name).split("_")
    return head + "".join(w.title() for w in rest)


Context = Callable[[random.Random, str, str], tuple[str, str, str]]

CONTEXTS: dict[str, Context] = {
    "python": lambda r, n, v: (f'{snake(n)} = "', v, '"\n'),
    "js": lambda r, n, v: (f"const {camel(n)} = '", v, "';\n"),
    "go": lambda r, n, v: (f'\t{camel(n)} := "', v, '"\n'),
    "java": lambda r, n, v: (f'    private static final String {upper(n)} = "', v, '";\n'),
    "env": lambda r, n, v: (f"{upper(n)}=", v, "\n"),
    "yaml": lambda r, n, v: (f"  {snake(n)}: ", v, "\n"),
    "json": lambda r, n, v: (f'  "{camel(n)}": "', v, '",\n'),
    "toml": lambda r, n, v: (f'{snake(n)} = "', v, '"\n'),
    "shell": lambda r, n, v: (f'export {upper(n)}="', v, '"\n'),
    "log": lambda r, n, v: (
        f"2025-06-{r.randint(10, 28)}T10:{r.randint(10, 59)}:00Z DEBUG config {snake(n)}=",
        v,
        "\n",
    ),
    "chat": lambda r, n, v: (
        f"I still get a 401. This is the {r.choice(['key', 'token', 'value'])} I use: ",
        v,
        "\nWhat am I doing wrong?\n",
    ),
}


def url_password(r: random.Random, kind: str) -> tuple[str, str, str]:
    """A connection URL with a password (before, password, after)."""
    password = r.choice([rand(r, r.randint(8, 20)), "hunter" + str(r.randrange(10, 99))])
    scheme = r.choice(["postgres", "postgresql", "mysql", "mongodb+srv", "amqp", "redis"])
    user = "" if scheme == "redis" and r.random() < 0.5 else r.choice(["app", "admin", "svc"])
    host = r.choice(["db.internal:5432", "cluster0.ab1cd.mongodb.net", "mq.prod:5672"])
    before, after = CONTEXTS[kind](r, "DATABASE_URL", "X")[0::2]
    return f"{before}{scheme}://{user}:", password, f"@{host}/app{after}"


def connection_string(r: random.Random, kind: str) -> tuple[str, str, str]:
    """An ADO.NET or JDBC connection string with a password."""
    password = rand(r, r.randint(8, 16)) + r.choice(["!", "#", "9"])
    if r.random() < 0.5:
        return (
            "Server=tcp:sql.prod.internal,1433;Database=orders;User ID=app;Password=",
            password,
            ";Encrypt=True;\n",
        )
    return "jdbc:postgresql://db.prod:5432/app?user=app&password=", password, "&ssl=true\n"


def sentry_dsn(r: random.Random, key: str) -> tuple[str, str, str]:
    return "SENTRY_DSN=https://", key, f"@o{r.randrange(10**5, 10**6)}.ingest.sentry.io/42\n"


def private_key_context(r: random.Random, kind: str, value: str) -> tuple[str, str, str]:
    """PEM blocks in the forms they travel in: raw, in JSON strings, in YAML block scalars."""
    if kind in ("json", "js"):
        return '{"type": "service_account", "private_key": "', value.replace("\n", "\\n"), '\\n"}\n'
    if kind == "yaml":
        return "tls:\n  key: |\n    ", value.replace("\n", "\n    "), "\n"
    if kind == "python":
        return 'KEY = """', value, '"""\n'
    return "Here is the key file:\n```\n", value, "\n```\n"


def planted_line(r: random.Random, family: str, kind: str) -> tuple[str, str, str]:
    """(before, value, after) for one secret of ``family`` in a document of ``kind``."""
    if family == "password-url":
        return url_password(r, kind)
    if family == "connection-string":
        return connection_string(r, kind)
    name, value = FAMILIES[family](r)
    if family == "private-key":
        return private_key_context(r, kind, value)
    if family == "sentry" and name == "dsn_key":
        return sentry_dsn(r, value)
    if family == "npm" and name == "npmrc":
        head, token = value.split("=", 1)
        return head + "=", token, "\n"
    return CONTEXTS[kind](r, name, value)


# --- filler and traps ----------------------------------------------------------------------------

WORDS = ("request", "session", "cache", "config", "handler", "payload", "retry", "buffer")
WORDS += ("index", "record", "stream", "parser", "batch", "window", "metric", "worker")


def filler(r: random.Random, kind: str) -> str:
    """A few lines of ordinary content of the document's kind."""
    a, b = r.choice(WORDS), r.choice(WORDS)
    by_kind = {
        "python": f"def load_{a}(path: str) -> dict:\n    with open(path) as fh:\n"
        f"        return json.load(fh)['{b}']\n\n",
        "js": f"export function {a}Handler(req, res) {{\n  const {b} = req.body.{b};\n"
        f"  return res.json({{ ok: true, {b} }});\n}}\n\n",
        "go": f"func {a.title()}(ctx context.Context) error {{\n"
        f"\tif err := {b}.Run(ctx); err != nil {{\n"
        f'\t\treturn fmt.Errorf("{a}: %w", err)\n\t}}\n\treturn nil\n}}\n\n',
        "java": f"public class {a.title()}Service {{\n    private final {b.title()}Repo repo;\n"
        f"    public {a.title()}Service({b.title()}Repo repo) {{ this.repo = repo; }}\n}}\n\n",
        "env": f"{a.upper()}_TIMEOUT=30\n{b.upper()}_HOST=localhost\nLOG_LEVEL=info\n",
        "yaml": f"{a}:\n  enabled: true\n  {b}_size: {r.randint(1, 512)}\n  host: {b}.internal\n",
        "json": f'{{\n  "{a}": {{ "enabled": true, "limit": {r.randint(1, 99)} }},\n',
        "toml": f"[{a}]\nenabled = true\n{b}_limit = {r.randint(1, 99)}\n",
        "shell": f"set -euo pipefail\ncd /srv/{a}\n./bin/{b} --retries {r.randint(1, 5)}\n",
        "log": "".join(
            f"2025-06-11T12:{r.randint(10, 59)}:07Z INFO {a}.{b} commit={rand(r, 40, HEX)} "
            f"took={r.randint(1, 900)}ms\n"
            for _ in range(3)
        ),
        "chat": f"Can you refactor the {a} module so the {b} is retried with backoff? "
        "Keep the public API the same and add a test.\n\n",
    }
    return by_kind[kind]


def _b64image(r: random.Random) -> str:
    data = b"".join(hashlib.sha256(str(r.random()).encode()).digest() for _ in range(48))
    return "![chart](data:image/png;base64," + base64.b64encode(data).decode() + ")\n"


# Each returns a snippet that looks like a secret to a naive scanner but holds none.
TRAPS: tuple[Callable[[random.Random], str], ...] = (
    lambda r: 'aws_access_key_id = "AKIA' + 'IOSFODNN7EXAMPLE"\n',
    lambda r: "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY\n",
    lambda r: "OPENAI_API_KEY=your-" + "api-key-here\n",
    lambda r: "api_key: <YOUR_" + "API_KEY>\n",
    lambda r: 'token = "${GITHUB_' + 'TOKEN}"\n',
    lambda r: "password: {{ vault_db_" + "password }}\n",
    lambda r: "STRIPE_KEY=sk" + "_live_" + "x" * 24 + "\n",
    lambda r: "export HF_TOKEN=h" + "f_" + "x" * 34 + "\n",
    lambda r: 'api_key = os.environ["OPENAI_' + 'API_KEY"]\n',
    lambda r: "const token = process.env.GITHUB_" + "TOKEN;\n",
    lambda r: 'password = os.getenv("DB_' + 'PASSWORD")\n',
    lambda r: 'secret := os.Getenv("APP_' + 'SECRET")\n',
    lambda r: f"sha256: {rand(r, 64, HEX)}  dist/app.tar.gz\n",
    lambda r: f"commit {rand(r, 40, HEX)}\nAuthor: Dev <dev@example.com>\n",
    lambda r: f'request_id = "{uuid(r)}"\n',
    lambda r: f'"client_id": "{uuid(r)}",\n',
    _b64image,
    lambda r: f'"integrity": "sha512-{rand(r, 86, B64)}==",\n',
    lambda r: f"  integrity sha512-{rand(r, 86, B64)}==\n",
    lambda r: f'hash = "sha256:{rand(r, 64, HEX)}"\n',
    lambda r: f'checksum = "{rand(r, 64, HEX)}"\n',
    lambda r: f"github.com/pkg/errors v0.9.1 h1:{rand(r, 43, B64)}=\n",
    lambda r: 'password = "test' + '"\n',
    lambda r: 'api_key = "fake-' + 'api-key"\n',
    lambda r: "def check_password(password: str, hashed: bytes) -> bool:\n",
    lambda r: "if password == confirm_password:\n    save(user)\n",
    lambda r: 'secret_key = get_secret("app")\n',
    lambda r: 'token = request.headers["Authorization"]\n',
    lambda r: "Rotate the API key if the token leaks, and never commit a password.\n",
    lambda r: 'ANTHROPIC_API_KEY="sk-' + 'ant-api03-..."\n',
    lambda r: f"ssh-rsa AAAAB3NzaC1yc2E{rand(r, 300, B64)} dev@laptop\n",
    lambda r: (
        "-----BEGIN PUBLIC KEY-----\n"
        + "\n".join(rand(r, 64, B64) for _ in range(4))
        + "\n-----END PUBLIC KEY-----\n"
    ),
    lambda r: 'if line.startswith("-----BEGIN RSA ' + 'PRIVATE KEY-----"):\n',
    lambda r: f"session_id={rand(r, 32, HEX)} user=42 path=/api/v1/items\n",
    lambda r: f"trace_id: {rand(r, 32, HEX)}\n",
    lambda r: f'etag: W/"{rand(r, 27, URLSAFE)}"\n',
    lambda r: f"build: {rand(r, 12, ALNUM)}-{rand(r, 7, HEX)}\n",
)


def build_corpus(seed: int = 4) -> list[Document]:
    """Every family in ``DOCS_PER_FAMILY`` documents of varied kinds, then trap-only documents."""
    families = [*FAMILIES]
    docs: list[Document] = []
    for family in families:
        for i in range(DOCS_PER_FAMILY):
            r = random.Random(f"{seed}:{family}:{i}")
            kind = KINDS[(i + len(docs)) % len(KINDS)]
            doc = Document(f"{family}-{i}", kind)
            doc.add(filler(r, kind))
            doc.add(r.choice(TRAPS)(r))
            doc.plant(family, *planted_line(r, family, kind))
            doc.add(filler(r, kind))
            docs.append(doc)
    for i in range(TRAP_DOCS):
        r = random.Random(f"{seed}:traps:{i}")
        kind = KINDS[i % len(KINDS)]
        doc = Document(f"traps-{i}", kind)
        doc.add(filler(r, kind))
        for trap in r.sample(TRAPS, 4):
            doc.add(trap(r))
        docs.append(doc)
    return docs


def main() -> None:
    parser = argparse.ArgumentParser(description="Write the labelled corpus as JSON lines.")
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--write", type=Path, required=True, help="output .jsonl file")
    args = parser.parse_args()
    with args.write.open("w", encoding="utf-8") as out:
        for doc in build_corpus(args.seed):
            record = {"id": doc.id, "kind": doc.kind, "text": doc.text, "plants": doc.plants}
            out.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()

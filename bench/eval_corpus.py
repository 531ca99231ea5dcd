"""Recall and precision per secret family on the labelled corpus: egress-watch vs detect-secrets.

The corpus (tests/corpus/generate.py) is built deterministically: every family planted in eight
documents of different kinds, plus trap-only documents. detect-secrets runs its default plugins
over each document written to a file of its kind (``scan_file``: its own scan, with its default
filters); egress-watch runs ``SecretScanner.scan`` on each
whole document.

    uv run python bench/eval_corpus.py [--seed 4] [--no-detect-secrets]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from detect_secrets.core.scan import scan_file
from detect_secrets.settings import default_settings

from egress_watch.classify.secrets import SecretScanner
from tests.corpus.generate import Document, build_corpus
from tests.corpus.score import Score, Span, score

OURS_FAMILY = {
    "aws-access-key": "aws-access-key", "aws-secret-key": "aws-secret-key",
    "aws-session-token": "aws-session-token", "google-api-key": "google-api-key",
    "google-oauth-secret": "google-oauth", "google-oauth-token": "google-oauth",
    "openai-key": "openai", "openai-admin-key": "openai", "anthropic-key": "anthropic",
    "anthropic-admin-key": "anthropic", "anthropic-oauth-token": "anthropic",
    "github-token": "github", "github-fine-grained-token": "github", "gitlab-token": "gitlab",
    "slack-token": "slack", "slack-webhook": "slack", "slack-app-token": "slack",
    "stripe-key": "stripe", "azure-storage-key": "azure", "azure-sas-token": "azure",
    "azure-shared-access-key": "azure", "huggingface-token": "huggingface", "npm-token": "npm",
    "pypi-token": "pypi", "dockerhub-token": "dockerhub", "digitalocean-token": "digitalocean",
    "twilio-key": "twilio", "sendgrid-key": "sendgrid", "mailgun-key": "mailgun",
    "shopify-token": "shopify", "atlassian-token": "atlassian", "databricks-token": "databricks",
    "heroku-key": "heroku", "datadog-key": "datadog", "newrelic-key": "newrelic",
    "sentry-dsn": "sentry", "sentry-token": "sentry", "telegram-bot-token": "telegram",
    "discord-bot-token": "discord", "discord-webhook": "discord", "jwt": "jwt",
    "private-key": "private-key", "gcp-service-account": "private-key",
}  # fmt: skip
DS_FAMILY = {
    "AWS Access Key": "aws-access-key", "GitHub Token": "github", "GitLab Token": "gitlab",
    "Slack Token": "slack", "Stripe Access Key": "stripe", "JSON Web Token": "jwt",
    "Private Key": "private-key", "NPM tokens": "npm", "PyPI Token": "pypi",
    "SendGrid API Key": "sendgrid", "Twilio API Key": "twilio", "Discord Bot Token": "discord",
    "Telegram Bot Token": "telegram", "OpenAI Token": "openai",
    "Azure Storage Account access key": "azure", "Mailchimp Access Key": "mailchimp",
}  # fmt: skip


def ours(scanner: SecretScanner) -> Callable[[Document], list[Span]]:
    def scan(doc: Document) -> list[Span]:
        return [(m.rule, m.start, m.end) for m in scanner.scan(doc.text)]

    return scan


EXTENSIONS = {
    "python": ".py", "js": ".js", "go": ".go", "java": ".java", "env": ".env", "yaml": ".yaml",
    "json": ".json", "toml": ".toml", "shell": ".sh", "log": ".log", "chat": ".txt",
}  # fmt: skip


def detect_secrets_scan(folder: Path) -> Callable[[Document], list[Span]]:
    """detect-secrets' own file scan (default plugins and filters) of each document, written
    to a file named for its kind; each reported value is located in its line."""

    def scan(doc: Document) -> list[Span]:
        path = folder / f"{doc.id}{EXTENSIONS[doc.kind]}"
        path.write_text(doc.text, encoding="utf-8")
        lines = doc.text.split("\n")
        starts = [0]
        for line in lines:
            starts.append(starts[-1] + len(line) + 1)
        found: list[Span] = []
        with default_settings():
            for secret in scan_file(str(path)):
                index = secret.line_number - 1
                line, value = lines[index], secret.secret_value or ""
                at = line.find(value) if value else -1
                span = (at, at + len(value)) if at >= 0 else (0, len(line))
                found.append((secret.type, starts[index] + span[0], starts[index] + span[1]))
        return found

    return scan


def table(docs: list[Document], mine: Score, theirs: Score | None) -> None:
    print(
        f"{'family':20} {'planted':>7} | {'recall':>7} {'precis.':>7} | "
        f"{'ds rec.':>7} {'ds prec.':>8}"
    )
    names = sorted(set(mine.families) | set(theirs.families if theirs else {}))
    for name in names:
        m = mine.tally(name)
        row = f"{name:20} {m.planted:7d} | {m.recall:7.2f} {m.precision:7.2f} |"
        if theirs is not None:
            t = theirs.tally(name)
            row += f" {t.recall:7.2f} {t.precision:8.2f}"
        print(row)
    m = mine.overall
    row = f"{'OVERALL':20} {m.planted:7d} | {m.recall:7.2f} {m.precision:7.2f} |"
    if theirs is not None:
        t = theirs.overall
        row += f" {t.recall:7.2f} {t.precision:8.2f}"
    print(row)
    print(
        f"false positives, egress-watch: {sum(mine.false_by_rule.values())} "
        f"{dict(mine.false_by_rule.most_common())}"
    )
    if theirs is not None:
        print(
            f"false positives, detect-secrets: {sum(theirs.false_by_rule.values())} "
            f"{dict(theirs.false_by_rule.most_common())}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--no-detect-secrets", action="store_true")
    args = parser.parse_args()
    docs = build_corpus(args.seed)
    kinds = sorted({d.kind for d in docs})
    print(
        f"corpus: {len(docs)} documents ({', '.join(kinds)}), "
        f"{sum(len(d.plants) for d in docs)} planted secrets, "
        f"{sum(len(d.text) for d in docs) / 1e3:.0f} KB"
    )
    t0 = time.perf_counter()
    mine = score(docs, ours(SecretScanner()), OURS_FAMILY)
    t1 = time.perf_counter()
    theirs = None
    if not args.no_detect_secrets:
        with tempfile.TemporaryDirectory() as folder:
            theirs = score(docs, detect_secrets_scan(Path(folder)), DS_FAMILY)
    t2 = time.perf_counter()
    table(docs, mine, theirs)
    print(f"time: egress-watch {(t1 - t0) * 1e3:.0f} ms, detect-secrets {(t2 - t1) * 1e3:.0f} ms")


if __name__ == "__main__":
    main()

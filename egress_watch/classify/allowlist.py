"""Known false positives: by fingerprint, rule, value pattern, path, or imported baselines.

Applied by the Engine, never by the text itself: an inline ``pragma: allowlist secret`` in a
prompt is ignored (anyone can type one). Two kinds of test: value tests (SHA-1 of the value from a
detect-secrets baseline, value regexes) run on the text before findings are cached; fingerprint,
rule and path tests run on every finding, since the path comes with the segment, not the text.

gitleaks ``.gitleaksignore`` lines (``file:rule:line`` or ``commit:file:rule:line``) become
(rule, file) pairs: the finding's rule (mapped from gitleaks' rule id) and a segment whose path
ends with that file. The line number and the commit cannot map onto a prompt (a snippet in a
request has no stable line or commit), so they are ignored; unknown gitleaks rules map to the
same rule id, which matches nothing of ours.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from egress_watch.config.settings import Settings
from egress_watch.model import Finding

# gitleaks rule id -> our rule id, for .gitleaksignore imports.
GITLEAKS_RULES: Final[dict[str, str]] = {
    "aws-access-token": "aws-access-key",
    "github-pat": "github-token",
    "github-oauth": "github-token",
    "github-app-token": "github-token",
    "github-refresh-token": "github-token",
    "github-fine-grained-pat": "github-fine-grained-token",
    "gitlab-pat": "gitlab-token",
    "openai-api-key": "openai-key",
    "anthropic-api-key": "anthropic-key",
    "anthropic-admin-api-key": "anthropic-admin-key",
    "gcp-api-key": "google-api-key",
    "private-key": "private-key",
    "jwt": "jwt",
    "slack-bot-token": "slack-token",
    "slack-user-token": "slack-token",
    "slack-app-token": "slack-token",
    "slack-webhook-url": "slack-webhook",
    "stripe-access-token": "stripe-key",
    "npm-access-token": "npm-token",
    "pypi-upload-token": "pypi-token",
    "sendgrid-api-token": "sendgrid-key",
    "twilio-api-key": "twilio-key",
    "telegram-bot-api-token": "telegram-bot-token",
    "discord-api-token": "discord-bot-token",
    "generic-api-key": "secret-assignment",
    "huggingface-access-token": "huggingface-token",
    "digitalocean-pat": "digitalocean-token",
    "shopify-access-token": "shopify-token",
    "heroku-api-key": "heroku-key",
    "databricks-api-token": "databricks-token",
    "mailgun-private-api-token": "mailgun-key",
}


@dataclass(frozen=True, slots=True)
class Allowlist:
    """What not to report; empty by default."""

    fingerprints: frozenset[str] = frozenset()
    rules: frozenset[str] = frozenset()
    values: tuple[re.Pattern[str], ...] = ()  # a match anywhere in the value allows it
    paths: tuple[str, ...] = ()  # globs against the segment's path hint
    sha1s: frozenset[str] = frozenset()  # detect-secrets' hashed_secret: SHA-1 of the value
    rule_paths: tuple[tuple[str, str], ...] = field(default=())  # (rule, path suffix)

    def __bool__(self) -> bool:
        """False when nothing is allowed, so the engine can skip the checks."""
        return bool(
            self.fingerprints or self.rules or self.values or self.paths or self.sha1s
        ) or bool(self.rule_paths)

    def allows_value(self, value: str) -> bool:
        """True if the value itself is known: a baseline hash or a configured pattern."""
        if self.sha1s and hashlib.sha1(value.encode()).hexdigest() in self.sha1s:  # noqa: S324
            return True
        return any(p.search(value) for p in self.values)

    def allows(self, finding: Finding, path: str | None = None) -> bool:
        """True if the finding's fingerprint, rule, or (rule and) path are allowed."""
        if finding.fingerprint in self.fingerprints or finding.rule in self.rules:
            return True
        if path is None:
            return False
        if any(fnmatch.fnmatch(path, glob) for glob in self.paths):
            return True
        return any(
            finding.rule == rule and (path == suffix or path.endswith("/" + suffix))
            for rule, suffix in self.rule_paths
        )


def build_allowlist(
    fingerprints: Iterable[str] = (),
    rules: Iterable[str] = (),
    values: Iterable[str] = (),
    paths: Iterable[str] = (),
    baselines: Iterable[Path] = (),
) -> Allowlist:
    """An Allowlist from configured entries plus imported baseline files (read here).

    Raises:
        ValueError: a value pattern is not a valid regex, or a baseline cannot be read.
    """
    sha1s: set[str] = set()
    rule_paths: list[tuple[str, str]] = []
    for baseline in baselines:
        try:
            content = baseline.read_text(encoding="utf-8")
        except OSError as error:
            raise ValueError(f"{baseline}: cannot read: {error.strerror}") from None
        if content.lstrip().startswith("{"):
            sha1s |= detect_secrets_hashes(content, str(baseline))
        else:
            rule_paths += gitleaks_ignores(content)
    compiled = []
    for pattern in values:
        try:
            compiled.append(re.compile(pattern))
        except re.error as error:
            raise ValueError(f"allowlist value pattern {pattern!r}: {error}") from None
    return Allowlist(
        frozenset(fingerprints),
        frozenset(rules),
        tuple(compiled),
        tuple(paths),
        frozenset(sha1s),
        tuple(rule_paths),
    )


def detect_secrets_hashes(content: str, source: str = "baseline") -> set[str]:
    """``hashed_secret`` of every result of a ``.secrets.baseline``, except those audited as
    real secrets (``is_secret: true``): a real secret leaving the machine is still a finding."""
    try:
        document = json.loads(content)
    except json.JSONDecodeError as error:
        raise ValueError(f"{source}: not a detect-secrets baseline: {error}") from None
    results = document.get("results") if isinstance(document, dict) else None
    if not isinstance(results, dict):
        raise ValueError(f"{source}: not a detect-secrets baseline: no results")
    return {
        entry["hashed_secret"]
        for entries in results.values()
        if isinstance(entries, list)
        for entry in entries
        if isinstance(entry, dict)
        and isinstance(entry.get("hashed_secret"), str)
        and entry.get("is_secret") is not True
    }


_GITLEAKS_LINE: Final = re.compile(r"(?:[0-9a-f]{7,40}:)?(?P<file>.+):(?P<rule>[\w.-]+):\d+")


def gitleaks_ignores(content: str) -> list[tuple[str, str]]:
    """(our rule, file) for each ``[commit:]file:rule:line`` line; comments and junk skipped."""
    pairs = []
    for raw in content.splitlines():
        line = raw.strip()
        m = _GITLEAKS_LINE.fullmatch(line)
        if line and not line.startswith("#") and m:
            rule = GITLEAKS_RULES.get(m["rule"], m["rule"])
            pairs.append((rule, m["file"]))
    return pairs


def allowlist_from_settings(settings: Settings, config_dir: Path) -> Allowlist:
    """The ``[allowlist]`` section as an Allowlist; baseline paths are relative to the config.

    Raises:
        ValueError: a pattern is invalid or a baseline file cannot be read or parsed.
    """
    return build_allowlist(
        settings.allow_fingerprints,
        settings.allow_rules,
        settings.allow_values,
        settings.allow_paths,
        [config_dir / Path(p).expanduser() for p in settings.allow_baselines],
    )

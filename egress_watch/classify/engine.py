"""Run every classifier over segments and turn raw matches into storable findings."""

from __future__ import annotations

import dataclasses
import logging
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from egress_watch.classify.allowlist import Allowlist, allowlist_from_settings
from egress_watch.classify.cache import FindingCache, content_key
from egress_watch.classify.categories import CategoryMatch, CategoryScanner
from egress_watch.classify.logic import scan_logic
from egress_watch.classify.secrets import SecretMatch, SecretScanner
from egress_watch.errors import ConfigError
from egress_watch.model import Category, Finding, Segment, Severity, Source
from egress_watch.proprietary.index import CodeIndexError, index_path
from egress_watch.proprietary.matcher import CodeMatch, Matcher
from egress_watch.redact import fingerprint, mask
from egress_watch.settings import Settings

MIN_CACHED: int = 256  # shorter segments are rescanned: hashing them costs about as much
MIN_CODE_CHARS: int = 40  # shorter texts cannot hold enough tokens to match indexed code


log = logging.getLogger(__name__)


class Engine:
    """Classifies text; holds the per-install fingerprint key, the rules, the allowlist and a
    bounded cache of findings by segment content. Thread-safe: share one across workers."""

    def __init__(
        self,
        hmac_key: bytes,
        scanner: SecretScanner | None = None,
        allowlist: Allowlist | None = None,
        cache: FindingCache | None = None,
        code: Matcher | None = None,
        categories: CategoryScanner | None = None,
        code_index: Path | None = None,
    ) -> None:
        self._key = hmac_key
        self._code = code
        self._code_index = code_index
        """Where a code index will appear (``egress-watch index add``) if it is not open yet."""
        self._categories = categories
        self._secrets = scanner or SecretScanner()
        self.allowlist = allowlist or Allowlist()
        self.cache = cache if cache is not None else FindingCache()

    @classmethod
    def configured(
        cls, hmac_key: bytes, settings: Settings, config_dir: Path, strict_index: bool = True
    ) -> Engine:
        """An engine with the ``[allowlist]`` of ``settings`` (baselines read from disk) and
        the code index beside the config, when ``egress-watch index add`` made one.

        Without ``strict_index`` (the proxy), an unusable code index is logged and left out:
        the proxy keeps running and scanning everything else; ``doctor`` names the fix.

        Raises:
            ConfigError: the allowlist has a bad pattern or an unreadable baseline, or (when
                ``strict_index``) the code index cannot be opened.
        """
        try:
            allowlist = allowlist_from_settings(settings, config_dir)
        except ValueError as error:
            raise ConfigError(f"allowlist: {error}") from None
        code = None
        code_index: Path | None = index_path(config_dir)
        if index_path(config_dir).exists():
            try:
                code = Matcher(index_path(config_dir))
            except (CodeIndexError, OSError, sqlite3.Error) as error:
                if strict_index:
                    raise ConfigError(f"code index: {error}") from None
                log.warning("egress-watch: code index not used: %s", error)
                code_index = None
        categories = CategoryScanner(
            settings.infra_domains, settings.marker_words, settings.marker_owners
        )
        return cls(
            hmac_key,
            allowlist=allowlist,
            code=code,
            categories=categories,
            code_index=code_index,
        )

    def fingerprint(self, value: str) -> str:
        """The per-install fingerprint of ``value``, as findings carry it."""
        return fingerprint(self._key, value)

    def classify_text(
        self, text: str, segment_index: int = 0, path: str | None = None
    ) -> list[Finding]:
        """Findings in one text; offsets are character offsets into ``text``.

        Args:
            text: the text to scan.
            segment_index: stored on each finding, to say which segment it came from.
            path: the file path the text belongs to, if known, for path allowlists.
        """
        return self._classify(text, segment_index, path, self._index_generation())

    def classify_segments(self, segments: Sequence[Segment]) -> list[Finding]:
        """Findings across all segments, each tagged with the index of its segment."""
        generation = self._index_generation()  # once per request, not once per segment
        findings: list[Finding] = []
        for index, segment in enumerate(segments):
            findings += self._classify(segment.text, index, segment.path_hint, generation)
        return findings

    def _classify(
        self, text: str, segment_index: int, path: str | None, generation: bytes
    ) -> list[Finding]:
        findings = self._cached(text, generation)
        if segment_index:
            findings = tuple(dataclasses.replace(f, segment_index=segment_index) for f in findings)
        if self.allowlist:
            return [f for f in findings if not self.allowlist.allows(f, path)]
        return list(findings)

    def _open_new_index(self) -> None:
        """Start matching code as soon as the first ``egress-watch index add`` made an index."""
        if self._code is None and self._code_index is not None and self._code_index.exists():
            try:
                self._code = Matcher(self._code_index)
            except (CodeIndexError, OSError, sqlite3.Error):
                self._code_index = None  # unreadable: keep scanning secrets, do not retry

    def _index_generation(self) -> bytes:
        """The code index's generation (cached results depend on it); empty without an index."""
        self._open_new_index()
        return self._code.generation().encode() if self._code is not None else b""

    def _cached(self, text: str, generation: bytes) -> tuple[Finding, ...]:
        """The findings of a text from the cache, or scanned now and remembered."""
        if len(text) < MIN_CACHED:
            return self._scan(text)
        key = content_key(text) + generation
        found = self.cache.get(key)
        if found is None:
            found = self._scan(text)
            self.cache.put(key, found)
        return found

    def _scan(self, text: str) -> tuple[Finding, ...]:
        """Every secret in the text as a Finding, minus values the allowlist knows."""
        findings = []
        for match in self._secrets.scan(text):
            value = text[match.start : match.end]
            if self.allowlist and self.allowlist.allows_value(value):
                continue
            findings.append(self._value_finding(text, Category.SECRET, match))
        if self._categories is not None:
            findings += self._category_findings(text)
        if self._code is not None and len(text) >= MIN_CODE_CHARS:
            findings += [self._code_finding(text, m) for m in self._code.match(text)]
        return tuple(findings)

    def _category_findings(self, text: str) -> list[Finding]:
        """Infra, marker, PII and security-logic findings (enabled by ``configured``)."""
        assert self._categories is not None  # checked by the caller
        found = [self._value_finding(text, m.category, m) for m in self._categories.scan(text)]
        for logic in scan_logic(text):
            found.append(
                Finding(
                    category=Category.LOGIC,
                    rule=f"security-logic-{logic.family}",
                    severity=logic.severity,
                    start=logic.start,
                    end=logic.end,
                    masked=f"<{logic.family} logic, {logic.end - logic.start} chars>",
                    fingerprint=fingerprint(self._key, text[logic.start : logic.end]),
                    reason=logic.reason,
                    confidence="low",
                )
            )
        return found

    def _value_finding(
        self, text: str, category: Category, match: SecretMatch | CategoryMatch
    ) -> Finding:
        """A finding for a matched value: its mask and keyed fingerprint, never the value."""
        value = text[match.start : match.end]
        return Finding(
            category=category,
            rule=match.rule,
            severity=match.severity,
            start=match.start,
            end=match.end,
            masked=mask(value),
            fingerprint=fingerprint(self._key, value),
            reason=match.reason,
            confidence=match.confidence,
        )

    def _code_finding(self, text: str, match: CodeMatch) -> Finding:
        """A proprietary-code finding: where the code came from, never the code itself."""
        strong = match.tokens >= self._code.thresholds.high if self._code else False
        where = f"{match.repo}:{match.path}:{match.start_line}-{match.end_line}"
        return Finding(
            category=Category.PROPRIETARY,
            rule="proprietary-code",
            severity=Severity.HIGH if strong else Severity.MEDIUM,
            start=match.start,
            end=match.end,
            masked=f"<{match.tokens} tokens of {match.repo}:{match.path}>",
            fingerprint=fingerprint(self._key, text[match.start : match.end]),
            segment_index=0,
            reason=f"matches {where} ({match.tokens} tokens, {match.channel} channel)",
            source=Source(match.repo, match.path, match.start_line, match.end_line, match.score),
            confidence="high" if strong else "medium",
        )

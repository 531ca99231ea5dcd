"""Run every classifier over segments and turn raw matches into storable findings."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from egress_watch.classify.allowlist import Allowlist, allowlist_from_settings
from egress_watch.classify.cache import FindingCache, content_key
from egress_watch.classify.secrets import SecretScanner
from egress_watch.errors import ConfigError
from egress_watch.model import Category, Finding, Segment
from egress_watch.redact import fingerprint, mask
from egress_watch.settings import Settings

MIN_CACHED: int = 256  # shorter segments are rescanned: hashing them costs about as much


class Engine:
    """Classifies text; holds the per-install fingerprint key, the rules, the allowlist and a
    bounded cache of findings by segment content. Thread-safe: share one across workers."""

    def __init__(
        self,
        hmac_key: bytes,
        scanner: SecretScanner | None = None,
        allowlist: Allowlist | None = None,
        cache: FindingCache | None = None,
    ) -> None:
        self._key = hmac_key
        self._secrets = scanner or SecretScanner()
        self.allowlist = allowlist or Allowlist()
        self.cache = cache if cache is not None else FindingCache()

    @classmethod
    def configured(cls, hmac_key: bytes, settings: Settings, config_dir: Path) -> Engine:
        """An engine with the ``[allowlist]`` of ``settings`` (baselines read from disk).

        Raises:
            ConfigError: the allowlist has a bad pattern or an unreadable baseline.
        """
        try:
            allowlist = allowlist_from_settings(settings, config_dir)
        except ValueError as error:
            raise ConfigError(f"allowlist: {error}") from None
        return cls(hmac_key, allowlist=allowlist)

    def classify_text(
        self, text: str, segment_index: int = 0, path: str | None = None
    ) -> list[Finding]:
        """Findings in one text; offsets are character offsets into ``text``.

        Args:
            text: the text to scan.
            segment_index: stored on each finding, to say which segment it came from.
            path: the file path the text belongs to, if known, for path allowlists.
        """
        findings = self._cached(text)
        if segment_index:
            findings = tuple(dataclasses.replace(f, segment_index=segment_index) for f in findings)
        if self.allowlist:
            return [f for f in findings if not self.allowlist.allows(f, path)]
        return list(findings)

    def classify_segments(self, segments: Sequence[Segment]) -> list[Finding]:
        """Findings across all segments, each tagged with the index of its segment."""
        findings: list[Finding] = []
        for index, segment in enumerate(segments):
            findings += self.classify_text(segment.text, index, segment.path_hint)
        return findings

    def _cached(self, text: str) -> tuple[Finding, ...]:
        """The findings of a text from the cache, or scanned now and remembered."""
        if len(text) < MIN_CACHED:
            return self._scan(text)
        key = content_key(text)
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
            findings.append(
                Finding(
                    category=Category.SECRET,
                    rule=match.rule,
                    severity=match.severity,
                    start=match.start,
                    end=match.end,
                    masked=mask(value),
                    fingerprint=fingerprint(self._key, value),
                    segment_index=0,
                    reason=match.reason,
                    confidence=match.confidence,
                )
            )
        return tuple(findings)

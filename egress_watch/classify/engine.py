"""Run every classifier over segments and turn raw matches into storable findings."""

from __future__ import annotations

from collections.abc import Sequence

from egress_watch.classify.secrets import SecretScanner
from egress_watch.model import Category, Finding, Segment
from egress_watch.redact import fingerprint, mask


class Engine:
    """Classifies text; holds the per-install fingerprint key and the compiled rules."""

    def __init__(self, hmac_key: bytes, scanner: SecretScanner | None = None) -> None:
        self._key = hmac_key
        self._secrets = scanner or SecretScanner()

    def classify_text(self, text: str, segment_index: int = 0) -> list[Finding]:
        """Findings in one text; offsets are character offsets into ``text``."""
        findings = []
        for match in self._secrets.scan(text):
            value = text[match.start : match.end]
            findings.append(
                Finding(
                    category=Category.SECRET,
                    rule=match.rule,
                    severity=match.severity,
                    start=match.start,
                    end=match.end,
                    masked=mask(value),
                    fingerprint=fingerprint(self._key, value),
                    segment_index=segment_index,
                    reason=match.reason,
                )
            )
        return findings

    def classify_segments(self, segments: Sequence[Segment]) -> list[Finding]:
        """Findings across all segments, each tagged with the index of its segment."""
        findings: list[Finding] = []
        for index, segment in enumerate(segments):
            findings += self.classify_text(segment.text, index)
        return findings

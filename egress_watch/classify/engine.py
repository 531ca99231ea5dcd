"""Run every classifier over segments and turn raw matches into storable findings."""

from __future__ import annotations

import bisect
import dataclasses
import logging
import sqlite3
import time
from collections.abc import Sequence
from itertools import accumulate
from pathlib import Path
from typing import Literal

from egress_watch.classify.allowlist import Allowlist, allowlist_from_settings
from egress_watch.classify.cache import FindingCache, content_key
from egress_watch.classify.categories import CategoryMatch, CategoryScanner
from egress_watch.classify.logic import scan_logic
from egress_watch.classify.proprietary.index import CodeIndexError, index_path
from egress_watch.classify.proprietary.lexicon import compile_lexers
from egress_watch.classify.proprietary.matcher import CodeMatch, Matcher
from egress_watch.classify.secrets import SecretMatch, SecretScanner
from egress_watch.classify.spans import lower_same_length
from egress_watch.config.settings import Settings
from egress_watch.errors import ConfigError
from egress_watch.masking import fingerprint, mask
from egress_watch.model import Category, Finding, Segment, Severity, Source

MIN_CACHED: int = 256  # shorter segments are rescanned: hashing them costs about as much
MIN_CODE_CHARS: int = 40  # shorter texts cannot hold enough tokens to match indexed code
# Longer texts are scanned in chunks (each with context on both sides), so a time budget can
# stop between chunks: a thread cannot be interrupted, it has to stop on its own.
CHUNK_CHARS: int = 512 * 1024
CONTEXT_BEFORE: int = 8 * 1024
CONTEXT_AFTER: int = 80 * 1024  # more than a private key block (64 KB), the longest finding


log = logging.getLogger(__name__)
WARM_UP_TEXTS = (
    "def warm_up(value):\n    return value + 1\n",
    "func warmUp(value int) int {\n\treturn value + 1\n}\n",
    "function warmUp(value) {\n  return value + 1;\n}\n",
)
"""What ``Engine.warm_up`` matches: one tiny snippet per common language family."""

Part = Literal["all", "scan", "code"]
"""What of ``_scan`` runs: everything; everything but the code match; only the code match.
Two workers can then analyse one body at once (capture.worker_pool), and the two finding
lists merge into the unsplit one (analysis.merge_parts)."""
_PART_KEY: dict[Part, bytes] = {"all": b"", "scan": b"|scan", "code": b"|code"}
"""Cache keys per part: a cached entry never holds half of a text's findings as if whole."""


def _hide_overlaps(found: list[Finding], secrets: list[Finding]) -> list[Finding]:
    """A finding overlapping a secret previews no character: its mask would show the secret's."""
    if not secrets or not found:
        return found
    spans = sorted((f.start, f.end) for f in secrets)
    starts = [s for s, _ in spans]
    reach = list(accumulate((e for _, e in spans), max))
    out = []
    for f in found:
        i = bisect.bisect_left(starts, f.end)
        if i and reach[i - 1] > f.start:
            f = dataclasses.replace(f, masked=f"…({f.end - f.start} chars)")
        out.append(f)
    return out


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

    def warm_up(self) -> None:
        """Do a tiny code match per language now, so that the first request carrying code does
        not wait while the matcher loads the index's file table, known lines and background
        (a quarter of a second on a 10 MB index): analysis workers call this as they start."""
        code = self._code if self.matches_code() else None
        if code is None:
            return
        compile_lexers()  # every language's, not only those of the texts below
        try:
            for text in WARM_UP_TEXTS:
                code.match(text)
        except (CodeIndexError, OSError, sqlite3.Error) as error:
            log.warning("egress-watch: code index warm-up failed: %s", error)

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
        return self._classify(text, segment_index, path, self._index_generation())[0]

    def classify_segments(self, segments: Sequence[Segment]) -> list[Finding]:
        """Findings across all segments, each tagged with the index of its segment."""
        return self.classify_within(segments, None)[0]

    def classify_within(
        self, segments: Sequence[Segment], deadline: float | None, part: Part = "all"
    ) -> tuple[list[Finding], bool]:
        """Findings across all segments, and False when ``deadline`` (``time.monotonic()``)
        passed before every segment was scanned: the findings are then those found so far.

        The deadline is checked between segments and between chunks of a long segment, so
        one inspection overruns it by at most one chunk's scan. ``part`` runs only that
        part of the scan (see ``Part``).
        """
        generation = self._index_generation()  # once per request, not once per segment
        findings: list[Finding] = []
        for index, segment in enumerate(segments):
            if index and _past(deadline):  # the first chunk is always scanned
                return findings, False
            found, complete = self._classify(
                segment.text, index, segment.path_hint, generation, deadline, part
            )
            findings += found
            if not complete:
                return findings, False
        return findings, True

    def _classify(
        self,
        text: str,
        segment_index: int,
        path: str | None,
        generation: bytes,
        deadline: float | None = None,
        part: Part = "all",
    ) -> tuple[list[Finding], bool]:
        findings, complete = self._cached(text, generation, deadline, part)
        if segment_index:
            findings = tuple(dataclasses.replace(f, segment_index=segment_index) for f in findings)
        if self.allowlist:
            findings = tuple(f for f in findings if not self.allowlist.allows(f, path))
        return list(findings), complete

    def _open_new_index(self) -> None:
        """Start matching code as soon as the first ``egress-watch index add`` made an index."""
        if self._code is None and self._code_index is not None and self._code_index.exists():
            try:
                self._code = Matcher(self._code_index)
            except (CodeIndexError, OSError, sqlite3.Error):
                self._code_index = None  # unreadable: keep scanning secrets, do not retry

    def matches_code(self) -> bool:
        """True when a code index is open (so splitting off the code match can pay)."""
        self._open_new_index()
        return self._code is not None

    def _index_generation(self) -> bytes:
        """The code index's generation (cached results depend on it); empty without an index."""
        self._open_new_index()
        return self._code.generation().encode() if self._code is not None else b""

    def _cached(
        self, text: str, generation: bytes, deadline: float | None = None, part: Part = "all"
    ) -> tuple[tuple[Finding, ...], bool]:
        """The findings of a text from the cache, or scanned now and remembered, and False
        when the deadline cut the scan short (the findings so far are not remembered)."""
        if len(text) < MIN_CACHED:
            return self._scan(text, part), True
        key = content_key(text) + generation + _PART_KEY[part]
        found = self.cache.get(key)
        if found is not None:
            return found, True
        found, complete = self._scan_chunks(text, deadline, part)
        if complete:
            self.cache.put(key, found)
        return found, complete

    def _scan_chunks(
        self, text: str, deadline: float | None, part: Part = "all"
    ) -> tuple[tuple[Finding, ...], bool]:
        """``_scan`` of a long text chunk by chunk, checking the deadline between chunks.

        Each chunk is scanned with CONTEXT_BEFORE and CONTEXT_AFTER characters around it and
        keeps the findings that start inside it, minus those overlapping a finding of the same
        category that an earlier chunk kept (the same value, seen with less context). Repeats
        of a generic secret are looked for within a chunk and its context, not the whole text.
        """
        if not is_chunked(text):
            return self._scan(text, part), True
        kept: list[Finding] = []
        reach: dict[Category, int] = {}  # per category, the end of the previous chunks' findings
        for begin in range(0, len(text), CHUNK_CHARS):
            if begin and _past(deadline):  # sorted as a whole scan's: parts merge alike
                return tuple(sorted(kept, key=lambda f: f.start)), False
            low = max(0, begin - CONTEXT_BEFORE)
            high = min(len(text), begin + CHUNK_CHARS + CONTEXT_AFTER)
            found = [
                dataclasses.replace(f, start=f.start + low, end=f.end + low)
                for f in self._scan(text[low:high], part)
                if begin <= f.start + low < begin + CHUNK_CHARS
                and f.start + low >= reach.get(f.category, 0)
            ]
            for finding in found:
                reach[finding.category] = max(reach.get(finding.category, 0), finding.end)
            kept += found
        kept.sort(key=lambda f: f.start)
        return tuple(kept), True

    def _scan(self, text: str, part: Part = "all") -> tuple[Finding, ...]:
        """Every secret, category and code finding in the text (those of ``part``), minus
        values the allowlist knows. Code findings come last: ``analysis.merge_parts`` relies
        on it."""
        findings: list[Finding] = []
        if part != "code":
            findings += self._scan_values(text)
        if part != "scan" and self._code is not None and len(text) >= MIN_CODE_CHARS:
            findings += [self._code_finding(text, m) for m in self._code.match(text)]
        return tuple(findings)

    def _scan_values(self, text: str) -> list[Finding]:
        """Secrets, then infra, marker, PII and logic findings (no secret's characters shown)."""
        findings = []
        lowered = lower_same_length(text)  # once, for the secret and logic detectors
        for match in self._secrets.scan(text, lowered):
            value = text[match.start : match.end]
            if self.allowlist and self.allowlist.allows_value(value):
                continue
            findings.append(self._value_finding(text, Category.SECRET, match))
        if self._categories is not None:
            findings += _hide_overlaps(self._category_findings(text, lowered), findings)
        return findings

    def _category_findings(self, text: str, lowered: str) -> list[Finding]:
        """Infra, marker, PII and security-logic findings (enabled by ``configured``)."""
        assert self._categories is not None  # checked by the caller
        found = [self._value_finding(text, m.category, m) for m in self._categories.scan(text)]
        for logic in scan_logic(text, lowered):
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


def is_chunked(text: str) -> bool:
    """True when ``_scan_chunks`` scans ``text`` in chunks (and sorts its findings by start)."""
    return len(text) > CHUNK_CHARS + CONTEXT_AFTER


def _past(deadline: float | None) -> bool:
    """True once the monotonic clock has reached ``deadline`` (never without one)."""
    return deadline is not None and time.monotonic() >= deadline

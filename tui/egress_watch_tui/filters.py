"""The feed's filters as one line of text: ``severity:high service:openai since:24h aws``.

Typed once in the filter bar, shown back as the same words, cleared with one key. Pure, so the
grammar is tested as a table; no Textual here.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, fields, replace
from datetime import datetime

from egress_watch.model import Category, Severity
from egress_watch.store.queries import EventFilter, parse_when

KEYS = ("severity", "category", "service", "process", "repo", "jurisdiction", "since", "until")
ALIASES = {
    "sev": "severity", "cat": "category", "svc": "service", "proc": "process",
    "juris": "jurisdiction",
}  # fmt: skip
SEVERITY_CYCLE: tuple[Severity | None, ...] = (
    None, Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL,
)  # fmt: skip
CATEGORY_CYCLE: tuple[Category | None, ...] = (None, *Category)

FILTER_HELP = (
    "severity:high  category:secret  service:openai  process:claude  repo:NAME  "
    "jurisdiction:CN  since:24h  until:2026-05-01  and free words, matched in rules and paths"
)


@dataclass(frozen=True, slots=True)
class FeedFilter:
    """What the feed shows; the empty filter shows everything."""

    severity: Severity | None = None
    """The minimum severity."""
    category: Category | None = None
    service: str | None = None
    process: str | None = None
    repo: str | None = None
    jurisdiction: str | None = None
    """An ISO country code: requests to services whose operator or parent is there."""
    since: str | None = None
    """As typed (``24h``, ``7d``, an ISO date), resolved against the clock at each read."""
    until: str | None = None
    text: str | None = None
    """Free words, matched in finding rules, request paths and file paths."""

    @property
    def is_empty(self) -> bool:
        return self == FeedFilter()

    def query(self, now: datetime, limit: int, after_id: int | None = None) -> EventFilter:
        """The store query for this filter at time ``now``."""
        return EventFilter(
            since=parse_when(self.since, now) if self.since else None,
            until=parse_when(self.until, now) if self.until else None,
            min_severity=self.severity,
            category=self.category,
            service=self.service,
            process=self.process,
            repo=self.repo,
            after_id=after_id,
            limit=limit,
            jurisdiction=self.jurisdiction,
        )

    def terms(self) -> list[str]:
        """The filter as ``key:value`` words (then free words), the way the user would type it."""
        words = []
        for name in KEYS:
            value = getattr(self, name)
            if value is None:
                continue
            shown = value.label if isinstance(value, Severity) else str(value)
            words.append(f"{name}:{_quote(shown)}")
        if self.text:
            words.append(_quote(self.text))
        return words

    def text_form(self) -> str:
        """The line that ``parse_filter`` turns back into this filter."""
        return " ".join(self.terms())

    def cycled(self, name: str) -> FeedFilter:
        """The filter with ``severity`` or ``category`` moved to its next value (then off)."""
        cycle: tuple[object, ...] = SEVERITY_CYCLE if name == "severity" else CATEGORY_CYCLE
        current = getattr(self, name)
        following = cycle[(cycle.index(current) + 1) % len(cycle)]
        return replace(self, **{name: following})  # type: ignore[arg-type]

    def without(self, name: str) -> FeedFilter:
        """The filter with one field cleared."""
        return replace(self, **{name: None})


def _quote(value: str) -> str:
    return shlex.quote(value) if any(c.isspace() for c in value) or not value else value


def parse_filter(line: str, now: datetime | None = None) -> FeedFilter:
    """Read a filter line; raises ValueError naming the word it could not understand.

    ``now`` checks that ``since``/``until`` parse; they are stored as typed.
    """
    try:
        words = shlex.split(line)
    except ValueError as error:
        raise ValueError(f"unbalanced quotes: {error}") from None
    values: dict[str, object] = {}
    free: list[str] = []
    for word in words:
        key, sep, value = word.partition(":")
        name = ALIASES.get(key.lower(), key.lower())
        if not sep or name not in KEYS:
            free.append(word)
            continue
        if not value:
            raise ValueError(f"{word!r}: give a value after the colon")
        values[name] = _value(name, value, now)
    if free:
        values["text"] = " ".join(free)
    known = {f.name for f in fields(FeedFilter)}
    return FeedFilter(**{k: v for k, v in values.items() if k in known})  # type: ignore[arg-type]


def _value(name: str, value: str, now: datetime | None) -> object:
    if name == "severity":
        return Severity.parse(value.lower())
    if name == "category":
        try:
            return Category(value.lower())
        except ValueError:
            choices = ", ".join(c.value for c in Category)
            raise ValueError(f"unknown category {value!r} (one of {choices})") from None
    if name == "jurisdiction":
        if not (len(value) == 2 and value.isalpha()):
            raise ValueError(f"{value!r}: a jurisdiction is a two-letter country code such as CN")
        return value.upper()
    if name in ("since", "until") and now is not None:
        parse_when(value, now)
    return value

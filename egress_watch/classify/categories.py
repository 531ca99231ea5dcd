"""Infra, marker and PII classifiers: configured internal domains, private addresses, internal
URLs, codenames, CONFIDENTIAL-style labels, the organisation's copyright header, emails, phone
numbers, Luhn-valid card numbers and IBANs. Pure and prefiltered: each rule's regex only runs
when a cheap substring test says it can match.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from egress_watch.model import Category, Severity


@dataclass(frozen=True, slots=True)
class CategoryMatch:
    """One sensitive span; ``text[start:end]`` is exactly the value."""

    category: Category
    rule: str
    severity: Severity
    start: int
    end: int
    reason: str
    confidence: str = "medium"


# Shape regexes run on a view of the text where every digit is 0 and every capital A: most
# start with a literal, which CPython's regex engine searches for at C speed.
_IPV4_SEED: Final = re.compile(r"0\.0{1,3}\.0{1,3}\.0{1,3}")
_IPV4: Final = re.compile(r"0{1,3}\.0{1,3}\.0{1,3}\.0{1,3}(?![\w-]|\.\w)")
_URL: Final = re.compile(r"https?://([A-Za-z0-9.-]+)(?::\d+)?[^\s\"'<>)\]]*")
_INTERNAL_TLDS: Final = (".internal", ".local", ".corp", ".lan", ".intranet", ".intra")
_LABEL: Final = re.compile(
    r"\b(?:STRICTLY CONFIDENTIAL|COMPANY CONFIDENTIAL|PROPRIETARY AND CONFIDENTIAL|CONFIDENTIAL"
    r"|INTERNAL USE ONLY|INTERNAL ONLY|DO NOT DISTRIBUTE|NOT FOR (?:PUBLIC )?DISTRIBUTION"
    r"|TRADE SECRET|Company Confidential|Strictly Confidential)\b"
)
_EMAIL: Final = re.compile(
    r"\b[A-Za-z0-9._%+-]{1,64}@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})\b"
)
_PLACEHOLDER_DOMAINS: Final = ("example.com", "example.org", "example.net", "test.com", "localhost")
_PHONES: Final = (
    re.compile(r"\+0{1,3}[ .-]?(?:\(0{1,4}\)[ .-]?)?0{1,4}(?:[ .-]0{2,4}){1,4}(?![\w.])"),
    re.compile(r"\(000\) ?000-0000(?![\w.])"),
)
_CARD: Final = re.compile(r"0000[ -]?0000[ -]?0000[ -]?0{1,7}(?![0-])")
_IBAN: Final = re.compile(r"AA00(?: ?[A0]{4}){2,7}(?: ?[A0]{1,3})?(?![\w])")
_SHAPE_BYTES: Final = bytes.maketrans(
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", b"0" * 10 + b"A" * 26
)
_IBAN_LENGTHS: Final = {
    "AT": 20, "BE": 16, "CH": 21, "CZ": 24, "DE": 22, "DK": 18, "ES": 24, "FI": 18, "FR": 27,
    "GB": 22, "IE": 22, "IT": 27, "LU": 20, "NL": 18, "NO": 15, "PL": 28, "PT": 25, "SE": 24,
}  # fmt: skip


def luhn_valid(digits: str) -> bool:
    """True when a digit string passes the Luhn checksum of payment cards."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def iban_valid(value: str) -> bool:
    """True for an IBAN of a known country length whose mod-97 check holds."""
    compact = value.replace(" ", "")
    if _IBAN_LENGTHS.get(compact[:2]) != len(compact):
        return False
    moved = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


class CategoryScanner:
    """Finds infra, marker and PII spans; configured with the organisation's own names."""

    def __init__(
        self,
        domains: tuple[str, ...] = (),
        words: tuple[str, ...] = (),
        owners: tuple[str, ...] = (),
    ) -> None:
        self._domains = tuple(d.lower().lstrip(".") for d in domains)
        self._domain_re = _alternation(r"\b(?:[A-Za-z0-9-]+\.)*(?:{})(?![\w-]|\.\w)", self._domains)
        self._word_re = _alternation(r"(?i)\b(?:{})\b", words)
        self._owner_re = _alternation(r"(?i)\bcopyright\b[^\n]{{0,60}}?\b(?:{})\b", owners)

    def scan(self, text: str) -> list[CategoryMatch]:
        """Every infra, marker and PII span in ``text``, sorted by start."""
        shape = _shape(text)
        found = [*self._infra(text, shape), *self._markers(text), *_pii(text, shape)]
        return sorted(found, key=lambda m: m.start)

    def _infra(self, text: str, shape: str) -> Iterator[CategoryMatch]:
        """Internal URLs, configured internal host names and private IPv4 addresses."""
        covered: list[tuple[int, int]] = []
        if "://" in text:
            for match in _URL.finditer(text):
                host = match.group(1).lower()
                if self._internal_host(host):
                    covered.append(match.span())
                    yield _hit(Category.INFRA, "internal-url", Severity.MEDIUM, match,
                               f"URL of internal host {host}")  # fmt: skip
        if self._domain_re is not None:
            for match in self._domain_re.finditer(text):
                if not _inside(match.span(), covered):
                    yield _hit(Category.INFRA, "internal-domain", Severity.MEDIUM, match,
                               "host in a configured internal domain")  # fmt: skip
        for seed in _IPV4_SEED.finditer(shape):
            start = seed.start()  # the seed begins at the last digit of the first octet
            while start > 0 and shape[start - 1] == "0" and seed.start() - start < 2:
                start -= 1
            address = _IPV4.match(shape, start)
            if address is None or _glued(shape, start, ".=<>~^0", word=True):
                continue
            value = text[start : address.end()]
            if not _inside(address.span(), covered) and value[0] == "1" and _private(value):
                yield _hit(Category.INFRA, "private-ip", Severity.LOW, address,
                           "private (RFC 1918) IPv4 address")  # fmt: skip

    def _internal_host(self, host: str) -> bool:
        """A private IP, a configured domain or an internal-only top-level domain."""
        if _private(host) or host.endswith(_INTERNAL_TLDS):
            return True
        return any(host == d or host.endswith("." + d) for d in self._domains)

    def _markers(self, text: str) -> Iterator[CategoryMatch]:
        """Codenames, classification labels and the organisation's copyright line."""
        if self._word_re is not None:
            for match in self._word_re.finditer(text):
                yield _hit(Category.MARKER, "codename", Severity.MEDIUM, match,
                           "configured codename or marker word")  # fmt: skip
        if (
            "ONFIDENTIAL" in text
            or "onfidential" in text
            or "DISTRIBUT" in text
            or ("INTERNAL" in text or "TRADE SECRET" in text)
        ):
            yield from self._labels(text)
        if self._owner_re is not None and "opyright" in text:
            for match in self._owner_re.finditer(text):
                yield _hit(Category.MARKER, "copyright-header", Severity.MEDIUM, match,
                           "the organisation's copyright notice")  # fmt: skip

    def _labels(self, text: str) -> Iterator[CategoryMatch]:
        """CONFIDENTIAL-style classification labels."""
        for match in _LABEL.finditer(text):
            yield _hit(Category.MARKER, "classification-label", Severity.MEDIUM, match,
                       f"classification label {match.group()!r}")  # fmt: skip


def _shape(text: str) -> str:
    """The text with every digit turned into 0 and every capital into A (offsets unchanged)."""
    # one "?" per non-ASCII code point keeps every offset
    return text.encode("ascii", "replace").translate(_SHAPE_BYTES).decode("ascii")


def _emails(text: str) -> Iterator[re.Match[str]]:
    """Email addresses, looked for only around each ``@`` (decorators are common in code)."""
    at = text.find("@")
    floor = 0  # the end of the last address: a search must not find that one again
    while at != -1:
        start = max(floor, at - 64)
        while start > floor and start < at and text[start - 1] not in " \t\n<(\"':,;[":
            start -= 1
            if at - start > 64:
                break
        match = _EMAIL.search(text, start, at + 256)
        if match is not None and match.start() <= at < match.end():
            yield match
            floor = match.end()
            at = text.find("@", match.end())
        else:
            at = text.find("@", at + 1)


def _pii(text: str, shape: str) -> Iterator[CategoryMatch]:
    """Emails, phone numbers, Luhn-valid card numbers and IBANs, all low severity."""
    if "@" in text:
        for match in _emails(text):
            domain = match.group(1).lower()
            if not domain.endswith(_PLACEHOLDER_DOMAINS) and not domain.endswith((".png", ".js")):
                yield _hit(Category.PII, "email", Severity.LOW, match, "email address")
    for phone in _PHONES:
        for match in phone.finditer(shape):
            if not _glued(shape, match.start(), "+.", word=True):
                digits = match.group().count("0")
                if 10 <= digits <= 15:
                    yield _hit(Category.PII, "phone-number", Severity.LOW, match, "phone number")
    for match in _CARD.finditer(shape):
        if _glued(shape, match.start(), "0.-"):
            continue
        number = re.sub(r"\D", "", text[match.start() : match.end()])
        if 13 <= len(number) <= 19 and number[0] in "3456" and luhn_valid(number):
            yield _hit(Category.PII, "card-number", Severity.LOW, match,
                       "Luhn-valid payment card number", "high")  # fmt: skip
    for match in _IBAN.finditer(shape):
        if not _glued(shape, match.start(), "", word=True) and iban_valid(
            text[match.start() : match.end()]
        ):
            yield _hit(Category.PII, "iban", Severity.LOW, match, "IBAN with a valid checksum",
                       "high")  # fmt: skip


def _glued(shape: str, start: int, before: str, word: bool = False) -> bool:
    """True when the character before ``start`` continues the token (one of ``before``, or any
    word character when ``word``), so the match is part of a longer number or name."""
    if start == 0:
        return False
    previous = shape[start - 1]
    return previous in before or (word and (previous.isalnum() or previous == "_"))


def _hit(
    category: Category,
    rule: str,
    severity: Severity,
    match: re.Match[str],
    reason: str,
    confidence: str = "medium",
) -> CategoryMatch:
    """A CategoryMatch for a regex match."""
    return CategoryMatch(category, rule, severity, match.start(), match.end(), reason, confidence)


def _alternation(template: str, names: tuple[str, ...]) -> re.Pattern[str] | None:
    """A regex matching any of ``names`` literally inside ``template``, or None if none."""
    if not names:
        return None
    ordered = sorted({re.escape(n) for n in names}, key=len, reverse=True)
    return re.compile(template.format("|".join(ordered)))


def _private(value: str) -> bool:
    """True for RFC 1918 / unique-local addresses (not loopback, not documentation ranges)."""
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return False
    return (
        address.is_private
        and not (address.is_loopback or address.is_link_local or address.is_unspecified)
        and any(address in net for net in _PRIVATE_NETS)
    )


_PRIVATE_NETS: Final = tuple(
    ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
)


def _inside(span: tuple[int, int], covered: list[tuple[int, int]]) -> bool:
    """True when ``span`` lies within one of the ``covered`` spans."""
    return any(start <= span[0] and span[1] <= end for start, end in covered)

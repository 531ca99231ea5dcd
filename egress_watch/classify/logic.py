"""Security-sensitive logic, by heuristic: authentication, cryptography, permission and licence
checks, pricing. Conservative: a family reports only when several distinct indicators of it
appear close together in text that looks like code, and the reason names them.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass
from typing import Final

import ahocorasick_rs

from egress_watch.classify.spans import char_offsets, lower_same_length
from egress_watch.model import Severity

FAMILIES: Final[dict[str, tuple[str, ...]]] = {
    "authentication": (
        "verify_password", "check_password", "password_hash", "hash_password", "checkpw",
        "hashpw", "authenticate", "bcrypt", "argon2", "scrypt", "pbkdf2", "compare_digest",
        "jwt.decode", "jwt.encode", "verify_token", "session_token", "totp", "otp_secret",
    ),
    "cryptography": (
        "aesgcm", "ecdsa", "cipher(", "encrypt(", "decrypt(", "private_key", "derive_key",
        "nonce", "hmac.new", "signing_key", "rsa_", "public_key", "modes.gcm", "modes.cbc",
    ),
    "permission-check": (
        "has_permission", "check_permission", "is_admin", "is_superuser", "authorize",
        "authorise", "require_role", "role ==", "role !=", "can_access", "access_denied",
        "permissiondenied", "forbidden", "http_403",
    ),
    "licence-check": (
        "license_key", "licence_key", "validate_license", "validate_licence", "is_licensed",
        "trial_expired", "trial_days", "activation_code", "license_expired", "entitlement",
    ),
    "pricing": (
        "discount", "price_list", "price_tier", "unit_price", "volume_tier", "markup",
        "list_price", "calculate_price", "margin_rate", "pricing_rule",
    ),
}  # fmt: skip
MIN_INDICATORS: Final = 3
WINDOW_CHARS: Final = 3000
_CODE: Final = re.compile(
    r"^[ \t]*(?:def |class |func |fn |function |public |private |if\b.*[:{])", re.M
)


_Indicator = tuple[str, str, int]
"""(family, indicator, length of the spelling found)."""


def _spellings() -> list[tuple[str, _Indicator]]:
    """Every indicator, with and without underscores."""
    return [
        (spelling, (family, indicator, len(spelling)))
        for family, indicators in FAMILIES.items()
        for indicator in indicators
        for spelling in dict.fromkeys((indicator, indicator.replace("_", "")))
    ]


_SPELLINGS: Final = _spellings()
# One DFA over UTF-8 bytes (Rust) returns every occurrence in one call; the indicators are
# ASCII, so every match starts on a character boundary.
_AUTOMATON: Final = ahocorasick_rs.BytesAhoCorasick(
    [spelling.encode() for spelling, _ in _SPELLINGS],
    implementation=ahocorasick_rs.Implementation.DFA,
)
_FAMILY_OF: Final = [indicator[0] for _, indicator in _SPELLINGS]


@dataclass(frozen=True, slots=True)
class LogicMatch:
    """A stretch of code that implements security-sensitive logic, and why we think so."""

    family: str
    start: int
    end: int
    indicators: tuple[str, ...]
    severity: Severity = Severity.LOW

    @property
    def reason(self) -> str:
        """What was seen, for the finding's reason."""
        return f"{self.family} logic: {', '.join(self.indicators)}"


def scan_logic(text: str, lowered: str | None = None) -> list[LogicMatch]:
    """Clusters of security-logic indicators in code-looking text (none in plain prose).

    ``lowered`` is ``lower_same_length(text)`` when the caller has it already.
    """
    if not _CODE.search(text):  # cheap, and most prompt text is not code: check it first
        return []
    lowered = lower_same_length(text) if lowered is None else lowered
    data = lowered.encode("utf-8", "surrogatepass")
    found = _AUTOMATON.find_matches_as_indexes(data, overlapping=True)
    # Families with too few distinct indicators are dropped before any per-hit work.
    distinct: dict[str, set[int]] = {}
    for index in {index for index, _, _ in found}:
        distinct.setdefault(_FAMILY_OF[index], set()).add(index)
    wanted = {
        family
        for family, indexes in distinct.items()
        if len({_SPELLINGS[i][1][1] for i in indexes}) >= MIN_INDICATORS
    }
    if not wanted:
        return []
    kept = [(index, start) for index, start, _ in found if _FAMILY_OF[index] in wanted]
    if not lowered.isascii():  # byte offsets -> character offsets
        chars = char_offsets(data, [start for _, start in kept], ascii_only=False)
        kept = [(index, chars[start]) for index, start in kept]
    hits: dict[str, list[tuple[int, int, str]]] = {}
    for index, start in kept:
        family, indicator, length = _SPELLINGS[index][1]
        hits.setdefault(family, []).append((start, start + length, indicator))
    result = []
    for family, family_hits in hits.items():
        result += _clusters(family, family_hits)
    return sorted(result, key=lambda m: m.start)


def _clusters(family: str, hits: list[tuple[int, int, str]]) -> list[LogicMatch]:
    """Windows of WINDOW_CHARS holding at least MIN_INDICATORS distinct indicators.

    The window keeps, per indicator, the positions of its hits inside it, so each hit costs
    work in the number of distinct indicators (a handful), not in the hits the window holds.
    """
    out: list[LogicMatch] = []
    inside: dict[str, deque[int]] = {}  # indicator -> indices of its hits in the window
    first = 0
    for last, (start_of_last, end_of_last, indicator) in enumerate(hits):
        inside.setdefault(indicator, deque()).append(last)
        while start_of_last - hits[first][0] > WINDOW_CHARS:
            leaving = inside[hits[first][2]]
            leaving.popleft()
            if not leaving:
                del inside[hits[first][2]]
            first += 1
        if len(inside) < MIN_INDICATORS:
            continue
        start = hits[first][0]
        if out and start <= out[-1].end:
            previous = out[-1]
            merged = previous.indicators
            if len(merged) < 6:
                merged = tuple(dict.fromkeys(merged + _in_order(inside)))[:6]
            out[-1] = LogicMatch(family, previous.start, max(end_of_last, previous.end), merged)
        else:
            out.append(LogicMatch(family, start, end_of_last, _in_order(inside)[:6]))
    return out


def _in_order(inside: dict[str, deque[int]]) -> tuple[str, ...]:
    """The window's indicators in the order of their first hit in it."""
    return tuple(sorted(inside, key=lambda name: inside[name][0]))

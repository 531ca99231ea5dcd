"""Security-sensitive logic, by heuristic: authentication, cryptography, permission and licence
checks, pricing. Conservative: a family reports only when several distinct indicators of it
appear close together in text that looks like code, and the reason names them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

import ahocorasick

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


def _automaton() -> ahocorasick.Automaton:
    """One automaton over every indicator, with and without underscores."""
    automaton = ahocorasick.Automaton()
    for family, indicators in FAMILIES.items():
        for indicator in indicators:
            for spelling in {indicator, indicator.replace("_", "")}:
                automaton.add_word(spelling, (family, indicator, len(spelling)))
    automaton.make_automaton()
    return automaton


_AUTOMATON: Final = _automaton()


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


def scan_logic(text: str) -> list[LogicMatch]:
    """Clusters of security-logic indicators in code-looking text (none in plain prose)."""
    if not _CODE.search(text):  # cheap, and most prompt text is not code: check it first
        return []
    hits: dict[str, list[tuple[int, int, str]]] = {}
    for end, (family, indicator, length) in _AUTOMATON.iter(text.lower()):
        hits.setdefault(family, []).append((end - length + 1, end + 1, indicator))
    families = {f: h for f, h in hits.items() if len({i for _, _, i in h}) >= MIN_INDICATORS}
    if not families:
        return []
    found = []
    for family, family_hits in families.items():
        found += _clusters(family, family_hits)
    return sorted(found, key=lambda m: m.start)


def _clusters(family: str, hits: list[tuple[int, int, str]]) -> list[LogicMatch]:
    """Windows of WINDOW_CHARS holding at least MIN_INDICATORS distinct indicators."""
    out: list[LogicMatch] = []
    first = 0
    for last in range(len(hits)):
        while hits[last][0] - hits[first][0] > WINDOW_CHARS:
            first += 1
        window = hits[first : last + 1]
        names = tuple(dict.fromkeys(h[2] for h in window))
        if len(names) >= MIN_INDICATORS:
            start, end = window[0][0], window[-1][1]
            if out and start <= out[-1].end:
                merged = tuple(dict.fromkeys(out[-1].indicators + names))
                out[-1] = LogicMatch(family, out[-1].start, max(end, out[-1].end), merged[:6])
            else:
                out.append(LogicMatch(family, start, end, names[:6]))
    return out

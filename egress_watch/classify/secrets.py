"""Find secrets in text: detect-secrets' detectors plus our own rules, behind one fast scan.

This is the only module that imports detect_secrets. It never reads or changes detect-secrets'
global settings (``get_settings``/``transient_settings`` are process-wide, and ``scan_line``
rewrites them on every call): it owns its plugin instances and calls only their pure parts, so
one ``SecretScanner`` can be shared by threads. Where to look is the prefilter's job
(prefilter.py), our own token formats are in rules.py, placeholders in placeholders.py.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from itertools import accumulate
from typing import Final

from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
from detect_secrets.filters import heuristic
from detect_secrets.plugins import keyword
from detect_secrets.plugins.base import RegexBasedDetector
from detect_secrets.plugins.high_entropy_strings import Base64HighEntropyString
from detect_secrets.plugins.private_key import PrivateKeyDetector

from egress_watch.classify import kingfisher, phrasings
from egress_watch.classify.kinds import (
    Detector,
    Hit,
    Kind,
    describe_pairs,
    echoes,
    pair_identifiers,
    resolve,
)
from egress_watch.classify.placeholders import is_placeholder
from egress_watch.classify.plugin_table import CUSTOM, LEFT_OUT, PLUGINS, PluginRow, gate
from egress_watch.classify.prefilter import Gate, Prefilter, anchors
from egress_watch.classify.private_keys import PrivateKeys
from egress_watch.classify.rules import RULES, Rule
from egress_watch.classify.spans import lower_same_length
from egress_watch.model import Severity

_C, _H, _L = Severity.CRITICAL, Severity.HIGH, Severity.LOW


@dataclass(frozen=True, slots=True)
class SecretMatch:
    """One secret in a scanned text; ``text[start:end]`` is exactly the value."""

    rule: str
    severity: Severity
    start: int
    end: int
    reason: str
    confidence: str = "high"
    """high: a documented token format; medium: a secret-named assignment; low: entropy only."""


# --- false-positive filters ----------------------------------------------------------------------

_SPACE: Final = re.compile(r"\s")
_MAX_GENERIC: Final = 1024  # longer keyword/entropy values are data, not passwords
_NAME_LIKE: Final = re.compile(r"[A-Za-z]+(?:[._/-][A-Za-z]+)+")  # SECRET_KEY, x-api-key, a/b
_CODE_LIKE: Final = re.compile(r"[()\[\]{}<>]|^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+[;:,]?$")
_IDENTIFIER: Final = re.compile(r"[A-Za-z_]+[;:,]?")  # digit-free
_REFERENCE: Final = re.compile(r"[^\W\d]+(?:[.:/-][^\W\d]+)*")  # a digit-free name
_NAME: Final = re.compile(r"[A-Za-z_][\w.:/-]*")
_WORDY: Final = re.compile(r"[a-z]{4,}")
_VALUE_END: Final = re.compile(r"\s|\\[nrt]|[;&](?=\w+=)")  # ...=value;Database=x&ssl=1
_TAIL_OK: Final = re.compile(r"[ \t]*(?:$|#|//|\\[nr]|[,;][ \t]*$)|[;&]\w+=")


def _is_noise(value: str) -> bool:
    """detect-secrets' default heuristics, plus ours, for keyword/entropy/URL style values."""
    return bool(
        heuristic.is_potential_uuid(value)
        or heuristic.is_templated_secret(value)
        or heuristic.is_prefixed_with_dollar_sign(value)
        or heuristic.is_not_alphanumeric_string(value)
        or _SPACE.search(value)
        or "://" in value
        or _NAME_LIKE.fullmatch(value)
    )


# --- detectors -----------------------------------------------------------------------------------


_Detector = Detector


class _OwnRules(_Detector):
    """The ``RULES`` table of rules.py."""

    pure = True

    def __init__(self, rules: tuple[Rule, ...]) -> None:
        self.gate = Gate(tuple(a for r in rules for a in r.anchors))
        self._rules = tuple((r, tuple(a.literal for a in r.anchors)) for r in rules)

    def find(self, text: str, start: int, chunk: str, low: str) -> Iterator[Hit]:
        for rule, literals in self._rules:
            if any(literal in low for literal in literals):
                for m in rule.pattern.finditer(chunk):
                    s, e = m.span(1) if rule.pattern.groups else m.span()
                    yield start + s, start + e, rule.kind


class _PluginDetector(_Detector):
    """One detect-secrets regex plugin: its regexes give the spans, its analyze_string vouches."""

    pure = True

    def __init__(self, plugin: RegexBasedDetector, row: PluginRow) -> None:
        self.gate = row.gate
        self._plugin = plugin
        self._regexes = tuple(plugin.denylist)
        self._row = row
        # Plugins that post-filter their regex matches (JWT checks the JSON) must vouch for each.
        self._vouches = type(plugin).analyze_string is not RegexBasedDetector.analyze_string

    def find(self, text: str, start: int, chunk: str, low: str) -> Iterator[Hit]:
        vouched = set(self._plugin.analyze_string(chunk)) if self._vouches else None
        kinds = self._row.kinds
        for index, regex in enumerate(self._regexes):
            kind = kinds[min(index, len(kinds) - 1)]
            for m in regex.finditer(chunk):
                if vouched is None or m.group() in vouched:
                    s, e = self._row.span(m)
                    if s < e and not (kind.generic and _is_noise(chunk[s:e])):
                        yield start + s, start + e, kind


# A character each keyword regex cannot match without: a line lacking it skips that regex.
_NEEDS: Final[dict[re.Pattern[str], str]] = {
    keyword.FOLLOWED_BY_COLON_REGEX: ":",
    keyword.FOLLOWED_BY_COLON_EQUAL_SIGNS_REGEX: ":",
    keyword.FOLLOWED_BY_COLON_QUOTES_REQUIRED_REGEX: ":",
    keyword.FOLLOWED_BY_EQUAL_SIGNS_REGEX: "=!",
    keyword.FOLLOWED_BY_EQUAL_SIGNS_QUOTES_REQUIRED_REGEX: "=!",
    keyword.FOLLOWED_BY_ARROW_FUNCTION_SIGN_QUOTES_REQUIRED_REGEX: "=",
    keyword.PRECEDED_BY_EQUAL_COMPARISON_SIGNS_QUOTES_REQUIRED_REGEX: "=!",
    keyword.FOLLOWED_BY_QUOTES_AND_SEMICOLON_REGEX: ";",
}


_NEEDED: Final = "".join(sorted(set("".join(_NEEDS.values()))))


def _subsets(chars: str) -> list[frozenset[str]]:
    """Every subset of ``chars``."""
    return [frozenset(c for i, c in enumerate(chars) if n >> i & 1) for n in range(2 ** len(chars))]


class _Assignments(_Detector):
    """detect-secrets' KeywordDetector regex tables, in code (quoted) and config (bare) forms."""

    pure = True

    KIND: Final = Kind("secret-assignment", _H, "value assigned to a secret-like name", True)
    CODE_WORDS: Final = frozenset(
        {"none", "null", "nil", "true", "false", "undefined", "self", "this", "str", "string"}
    )

    def __init__(self) -> None:
        self.gate = _assignment_gate()
        self._secret_name = re.compile("|".join((*keyword.DENYLIST, "contrase")))
        self._plugin = keyword.KeywordDetector()
        tables = {
            **keyword.QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP,
            **keyword.CONFIG_DENYLIST_REGEX_TO_GROUP,
            **keyword.GOLANG_DENYLIST_REGEX_TO_GROUP,
        }
        regexes = [(_case_sensitive(r), g, set(_NEEDS.get(r, ""))) for r, g in tables.items()]
        # For each set of the characters a line holds, the regexes worth running on it.
        self._by_present = {
            present: tuple((r, g) for r, g, needs in regexes if not needs or needs & present)
            for present in _subsets(_NEEDED)
        }

    def find(self, text: str, start: int, chunk: str, low: str) -> Iterator[Hit]:
        present = frozenset(c for c in _NEEDED if c in low)
        spans = {
            span
            for regex, group in self._by_present[present]
            for m in regex.finditer(low)
            if (span := self._value(chunk, *m.span(group))) is not None
        }
        # Checked last because it is slow: secret = get_secret(), os.environ["X"], ...
        if spans and not heuristic.is_indirect_reference(chunk):
            yield from ((start + s, start + e, self.KIND) for s, e in spans)

    def _value(self, chunk: str, s: int, e: int) -> tuple[int, int] | None:
        quoted = s > 0 and chunk[s - 1] in "'\"`"
        if not quoted:
            cut = _VALUE_END.search(chunk, s, e)
            e = cut.start() if cut else e
            if not _TAIL_OK.match(chunk, e) or self._looks_like_code(chunk[s:e]):
                return None
        value = chunk[s:e]
        if (
            not 6 <= len(value) <= _MAX_GENERIC
            or _is_noise(value)
            or self._names_a_secret(value, quoted)
        ):
            return None
        return None if heuristic.is_likely_id_string(value, chunk, self._plugin) else (s, e)

    def _looks_like_code(self, value: str) -> bool:
        """A bare ``user.password``, ``new_password`` or ``true`` is code, not a secret."""
        if value.lower().rstrip(";:,") in self.CODE_WORDS or _CODE_LIKE.search(value):
            return True
        return bool(_IDENTIFIER.fullmatch(value)) and _is_wordy(value)

    def _names_a_secret(self, value: str, quoted: bool) -> bool:
        """``"privateKeyUsagePeriod"``, ``pkg.secrets:main``, bare ``PKCS7PrivateKey``: names."""
        name = _REFERENCE.fullmatch(value) if quoted else _NAME.fullmatch(value)
        return bool(name and self._secret_name.search(value.lower()))


def _case_sensitive(regex: re.Pattern[str]) -> re.Pattern[str]:
    """The regex for lower-cased text, without IGNORECASE: five times faster, same spans."""
    if re.search(r"(?<!\\)[A-Z]", regex.pattern):
        raise ValueError(f"{regex.pattern!r} has upper-case letters: unsafe on lower-cased text")
    return re.compile(regex.pattern, regex.flags & ~re.IGNORECASE)


class _HighEntropy(_Detector):
    """detect-secrets' Base64 entropy test, only on quoted values assigned to a credential name
    (``auth_token = "…"``, ``"apiKey": "…"``): unrestricted, it flags every hash and blob."""

    pure = True

    KIND: Final = Kind("high-entropy-string", _L, "random-looking value of a credential", True)
    WORDS: Final = "key token secret passw auth credential"
    ASSIGNED: Final = r"""\w*['"]?\]?\s*(?:=>|:=|[=:])\s*"""

    def __init__(self) -> None:
        self.gate = gate(
            self.WORDS.replace("passw", "pass"), "{}" + self.ASSIGNED + r"""['"][\w+/=-]{20}"""
        )
        words = "|".join(self.WORDS.split())
        self._regex = re.compile(f"(?:{words}){self.ASSIGNED}(['\"])([\\w+/=-]{{20,}})\\1")
        self._plugin = Base64HighEntropyString()

    def find(self, text: str, start: int, chunk: str, low: str) -> Iterator[Hit]:
        plugin = self._plugin
        spans = [
            (s, e)
            for m in self._regex.finditer(low)
            if _mixed_classes(value := chunk[(s := m.start(2)) : (e := m.end(2))])
            and not _is_wordy(value)
            and plugin.calculate_shannon_entropy(value) > plugin.entropy_limit
            and not _is_noise(value)
            and not heuristic.is_likely_id_string(value, chunk, plugin)
        ]
        if spans and not heuristic.is_indirect_reference(chunk):
            yield from ((start + s, start + e, self.KIND) for s, e in spans)


def _mixed_classes(value: str) -> bool:
    """Upper, lower and digits together: random keys have them, words, paths and hex do not."""
    return value != value.lower() and value != value.upper() and any(c.isdigit() for c in value)


def _is_wordy(value: str) -> bool:
    """Mostly runs of lower-case letters, like ``ReadMultipleBlocksConfiguration``: a name."""
    return 2 * sum(len(run) for run in _WORDY.findall(value)) >= len(value)


# A secret-named word followed by an assignment (``=``, ``:``, ``(``, a quoted value within the
# same token), or a comparison ``"value" == password``: what KeywordDetector's regexes need.
_ASSIGN_TAIL: Final = (
    r"""\w*(?:(?:\[[0-9]*\])?[\]'"`]{0,2}\s*(?:[:=!]|(?:.assign)?\(")"""
    r"""|\S{0,50}?\s*(['"`])[^\n'"`]*['"`];)"""
)


def _assignment_gate() -> Gate:
    """Anchors of the keyword detector: a word each denylist name contains, plus comparisons."""
    words = "key pass pwd secret contrase"
    if not all(any(w in name for w in words.split()) for name in keyword.DENYLIST):
        raise ValueError("a keyword.DENYLIST word has no anchor")
    names = "|".join((*keyword.DENYLIST, "contrase"))
    compare = anchors("== !=", rf"{{}}=?\s*\w*(?:{names})")
    return Gate((*anchors(words, "{}" + _ASSIGN_TAIL), *compare))


def _build_detectors() -> tuple[_Detector, ...]:
    """Our rules, private keys, each mapped plugin, then the keyword and entropy families."""
    classes: Mapping[str, type[RegexBasedDetector]] = get_mapping_from_secret_type_to_class()
    plugins = [_PluginDetector(classes[name](), row) for name, row in PLUGINS.items()]
    return (
        _OwnRules(RULES),
        PrivateKeys(tuple(PrivateKeyDetector.denylist)),
        *plugins,
        _Assignments(),
        _HighEntropy(),
        *phrasings.detectors(),
    )


def _unmapped_secret_types() -> set[str]:
    """detect-secrets plugins we neither use nor left out on purpose (new in an upgrade)."""
    known = PLUGINS.keys() | CUSTOM | LEFT_OUT.keys()
    return set(get_mapping_from_secret_type_to_class()) - known


# --- scanning ------------------------------------------------------------------------------------

# Publishable keys are public by design (they ship in web pages): identifiers, not secrets.
_PUBLISHABLE: Final = re.compile(r"pk_(?:live|test)_")


def _not_covered(vendor: list[Hit], own: list[Hit]) -> list[Hit]:
    """kingfisher's hits except where one of our vendor rules found the same value: ours keep
    their established rule ids; kingfisher's win over our generic (keyword, entropy) guesses."""
    spans = sorted((s, e) for s, e, k in own if not k.generic)
    if not spans:
        return vendor
    starts = [s for s, _ in spans]
    reach = list(accumulate((e for _, e in spans), max))
    kept = []
    for hit in vendor:
        i = bisect.bisect_left(starts, hit[1])  # own spans starting before this hit ends
        if i == 0 or reach[i - 1] <= hit[0]:
            kept.append(hit)
    return kept


class SecretScanner:
    """Thread-safe after construction; construct once, call scan() many times."""

    def __init__(self, vendor_rules: bool = True) -> None:
        """Args:
            vendor_rules: also run kingfisher's catalog (compiled once per process, here).

        Raises:
            ConfigError: kingfisher's rules cannot be loaded (the message names the fix).
        """
        self._detectors = _build_detectors()
        self._private_keys = next(d for d in self._detectors if isinstance(d, PrivateKeys))
        self._prefilter = Prefilter([d.gate for d in self._detectors])
        self._vendor = vendor_rules
        if vendor_rules:
            kingfisher.shared_scanner()

    def _find(self, text: str, lowered: str) -> list[Hit]:
        """Every detector's hits on the lines the prefilter picked. A line repeated in the text
        (a file re-sent in a conversation, a log line) is checked once by the pure detectors."""
        detectors = self._detectors
        hits: list[Hit] = []
        seen: dict[tuple[int, str], list[Hit]] = {}
        for start, end, families in self._prefilter.jobs(text, lowered):
            chunk, low = text[start:end], lowered[start:end]
            for index in families:
                detector = detectors[index]
                if not detector.pure:
                    hits += detector.find(text, start, chunk, low)
                    continue
                found = seen.get((index, chunk))
                if found is None:  # offsets relative to the first copy of the line, at 0
                    found = seen[index, chunk] = list(detector.find(chunk, 0, chunk, low))
                hits += [(start + s, start + e, kind) for s, e, kind in found]
        return hits

    def scan(self, text: str, lowered: str | None = None) -> list[SecretMatch]:
        """Secrets in ``text``, sorted by start, with no two spans overlapping.

        Args:
            text: any decoded text (prompt, file, log); offsets are character offsets into it.
            lowered: ``lower_same_length(text)``, when the caller has it already.

        Returns:
            One match per occurrence of a secret; the value itself is ``text[start:end]``.
        """
        vendor = kingfisher.scan_async(text) if self._vendor else None
        lowered = lower_same_length(text) if lowered is None else lowered
        hits = self._find(text, lowered)
        self._private_keys.forget()
        if vendor is not None:
            hits += _not_covered(vendor.result(), hits)
        hits = [hit for hit in hits if not is_placeholder(text[hit[0] : hit[1]])]
        ids = [hit for hit in hits if hit[2].identifier or _PUBLISHABLE.match(text, hit[0])]
        if ids:
            hits = [
                hit for hit in hits if not (hit[2].identifier or _PUBLISHABLE.match(text, hit[0]))
            ]
        hits += echoes(text, hits)
        kept = pair_identifiers(text, describe_pairs(text, resolve(hits)), ids)
        return [SecretMatch(k.rule, k.severity, s, e, k.reason, k.confidence) for s, e, k in kept]

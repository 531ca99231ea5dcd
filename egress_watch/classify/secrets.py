"""Find secrets in text: detect-secrets' detectors plus our own rules, behind one fast scan.

This is the only module that imports detect_secrets. It never reads or changes detect-secrets'
global settings (``get_settings``/``transient_settings`` are process-wide, and ``scan_line``
rewrites them on every call): it owns its plugin instances and calls only their pure parts, so
one ``SecretScanner`` can be shared by threads.
"""

from __future__ import annotations

import bisect
import dataclasses
import re
import string
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Final

from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
from detect_secrets.filters import heuristic
from detect_secrets.plugins import basic_auth, keyword
from detect_secrets.plugins.base import RegexBasedDetector
from detect_secrets.plugins.high_entropy_strings import Base64HighEntropyString
from detect_secrets.plugins.private_key import PrivateKeyDetector

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


@dataclass(frozen=True, slots=True)
class _Kind:
    """What a match is called, how bad it is, and whether it needs false-positive filtering."""

    rule: str
    severity: Severity
    reason: str
    generic: bool = False  # keyword/entropy/URL style rather than a vendor token format


_Hit = tuple[int, int, _Kind]  # absolute start, end, kind
_Detectors = tuple["_Detector", ...]
_Job = tuple[int, int, _Detectors]  # a window of the text and the detectors to run on it


@dataclass(frozen=True, slots=True)
class _Rule:
    """One of our own rules; adding a rule is adding one row to ``_RULES``.

    The value is the pattern's first group if it has one (``name = value``), else the match.
    """

    rule: str
    pattern: re.Pattern[str]
    severity: Severity
    reason: str
    keyword: str  # every match contains it, in any case: the prefilter looks for it


def _rule(rule: str, pattern: str, severity: Severity, reason: str, keyword: str) -> _Rule:
    """A row of ``_RULES``; patterns are ASCII-only, so ``\\w`` never runs into other scripts."""
    return _Rule(rule, re.compile(pattern, re.ASCII), severity, reason, keyword)


# fmt: off
_RULES: Final[tuple[_Rule, ...]] = (
    _rule("openai-key", r"sk-(?:proj|svcacct)-[\w-]{32,}", _C, "OpenAI API key", "sk-"),
    _rule("openai-key", r"(?<![\w-])sk-[A-Za-z0-9]{48}(?![\w-])", _C, "OpenAI API key", "sk-"),
    _rule("openai-admin-key", r"sk-admin-[\w-]{32,}", _C, "OpenAI admin key", "sk-"),
    _rule("anthropic-key", r"sk-ant-api03-[\w-]{32,}", _C, "Anthropic API key", "sk-"),
    _rule("anthropic-admin-key", r"sk-ant-admin01-[\w-]{32,}", _C, "Anthropic admin key", "sk-"),
    _rule("anthropic-oauth-token", r"sk-ant-oat01-[\w-]{32,}", _C, "Anthropic OAuth token", "sk-"),
    _rule("github-fine-grained-token", r"github_pat_[A-Za-z0-9_]{82}(?!\w)", _C,
          "GitHub fine-grained token", "github_pat_"),
    _rule("google-api-key", r"AIza[A-Za-z0-9_-]{35}(?![\w-])", _H, "Google API key", "AIza"),
    _rule("aws-secret-key", r"(?i:aws_?secret_?access_?key)[\"']?\s*[:=]\s*[\"']?"
          r"([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])", _C, "AWS secret access key", "secret"),
)
# fmt: on

# --- spans: turn a detect-secrets regex match into the exact value span ------------------------

_Span = Callable[[re.Match[str]], tuple[int, int]]
_JWT_SIGNATURE: Final = re.compile(r"[A-Za-z0-9_-]*")
_TOKEN_RUN: Final = re.compile(r"[A-Za-z0-9_-]*")


def _skip(pattern: re.Pattern[str], text: str, pos: int) -> int:
    """Where a run of ``pattern`` starting at ``pos`` ends (``pos`` if there is none)."""
    m = pattern.match(text, pos)
    return pos if m is None else m.end()


def _value_span(m: re.Match[str]) -> tuple[int, int]:
    """detect-secrets' own choice: the widest capture group if the regex has any, else the match."""
    groups = [m.span(g) for g in range(1, m.re.groups + 1) if m.start(g) < m.end(g)]
    return max(groups, key=lambda span: span[1] - span[0]) if groups else m.span()


def _match_span(m: re.Match[str]) -> tuple[int, int]:
    """The whole match: the plugin's capture group is only the token prefix (e.g. ``ghp``)."""
    return m.span()


def _jwt_span(m: re.Match[str]) -> tuple[int, int]:
    """The plugin's lazy regex stops before the signature; take the signature too."""
    end = m.end()
    if m.group().endswith("."):
        end = _skip(_JWT_SIGNATURE, m.string, end)
    return m.start(), end


def _strip_span(m: re.Match[str]) -> tuple[int, int]:
    """The match without the delimiters the plugin's regex includes around the token."""
    start, end = m.span()
    while start < end and m.string[start] in ' \t=:"':
        start += 1
    while end > start and m.string[end - 1] in ' \t"':
        end -= 1
    return start, end


def _after_eq_span(m: re.Match[str]) -> tuple[int, int]:
    """The value after ``Name=``."""
    return m.string.index("=", m.start()) + 1, m.end()


def _npm_span(m: re.Match[str]) -> tuple[int, int]:
    """The token only: the plugin's ``npm_.+`` runs to the end of the line."""
    start, _ = _value_span(m)
    return start, _skip(_TOKEN_RUN, m.string, start)


# --- detect-secrets plugins: secret_type -> our rule ids, prefilter and span ---------------------


@dataclass(frozen=True, slots=True)
class _PluginRow:
    """How we use one detect-secrets regex plugin."""

    kinds: tuple[_Kind, ...]  # one per regex of the plugin's denylist; the last one repeats
    prefilter: str  # regex over lower-cased text, matching wherever the plugin can match
    span: _Span = _value_span


def _each(words: str, lookahead: str) -> str:
    """``w1(?=x)|w2(?=x)``: alternatives that start with a literal keep the prefilter fast."""
    return "|".join(f"{word}(?={lookahead})" for word in words.split())


def _row(
    rule: str, severity: Severity, reason: str, prefilter: str, span: _Span = _value_span
) -> _PluginRow:
    """A row for a plugin whose regexes all mean one rule."""
    return _PluginRow((_Kind(rule, severity, reason),), prefilter, span)


_URL_USER = (
    "[^" + re.escape(basic_auth.RESERVED_CHARACTERS + basic_auth.SUB_DELIMITER_CHARACTERS) + r"\s]+"
)
_IBM_ASSIGNED = r"""["']?\]? *(?:=>|:=|::|[=:]| +) *["']?[\w-]{44}"""
# fmt: off
_PLUGINS: Final[dict[str, _PluginRow]] = {
    "AWS Access Key": _PluginRow(
        (_Kind("aws-access-key", _C, "AWS access key id"),
         _Kind("aws-secret-key", _C, "AWS secret access key")),
        r"a3t[a-z0-9]|akia|asia|abia|acca|aws"),
    "Artifactory Credentials": _row("artifactory-token", _H, "Artifactory token",
        r"akc|ap[\da-f](?=[a-z0-9]{8})", _strip_span),
    "Azure Storage Account access key": _row("azure-storage-key", _C, "Azure storage account key",
        "accountkey=", _after_eq_span),
    "Basic Auth Credentials": _PluginRow(
        (_Kind("basic-auth-url", _H, "password in a URL", generic=True),),
        f"://(?={_URL_USER}:{_URL_USER}@)"),
    "Cloudant Credentials": _row("cloudant-credential", _H, "Cloudant credential",
        r"cl(?:ou|oudant)?[-_]?(?:api)?(?:key|pw|pass|token)|cloudant\.com"),
    "Discord Bot Token": _row("discord-bot-token", _H, "Discord bot token",
        r"\.(?=[\w-]{6}\.[\w-]{27})"),
    "GitHub Token": _row("github-token", _C, "GitHub token", r"gh[pousr]_", _match_span),
    "GitLab Token": _row("gitlab-token", _C, "GitLab token",
        r"gl(?:pat|dt|ft|soat|rt|cbt|imt|ptt|agent|oas)-|gr1348941", _match_span),
    "IBM Cloud IAM Key": _row("ibm-cloud-iam-key", _H, "IBM Cloud IAM key",
        _each("key pwd password pass token", _IBM_ASSIGNED)),
    "IBM COS HMAC Credentials": _row("ibm-cos-hmac-key", _H, "IBM COS HMAC secret",
        r"secret[-_]?(?:access)?[-_]?key"),
    "JSON Web Token": _row("jwt", _H, "JSON web token", "eyj", _jwt_span),
    "Mailchimp Access Key": _row("mailchimp-key", _H, "Mailchimp API key", r"-us\d"),
    "NPM tokens": _row("npm-token", _C, "npm auth token", "_authtoken=", _npm_span),
    "OpenAI Token": _row("openai-key", _C, "OpenAI API key", "t3blbkfj"),
    "PyPI Token": _row("pypi-token", _C, "PyPI upload token", "pypi-age"),
    "SendGrid API Key": _row("sendgrid-key", _H, "SendGrid API key", r"sg\.(?=[\w-]{22}\.)"),
    "Slack Token": _PluginRow(
        (_Kind("slack-token", _H, "Slack token"), _Kind("slack-webhook", _H, "Slack webhook URL")),
        r"xox[abposr]-|hooks\.slack\.com"),
    "SoftLayer Credentials": _row("softlayer-key", _H, "SoftLayer API key",
        r"softlayer|sl[-_]?(?:api)?(?:key|pwd|pass|token)|api.softlayer.com"),
    "Square OAuth Secret": _row("square-oauth-secret", _H, "Square OAuth secret", "sq0csp-"),
    "Stripe Access Key": _row("stripe-key", _C, "Stripe live key", "rk_live_|sk_live_"),
    "Telegram Bot Token": _row("telegram-bot-token", _H, "Telegram bot token",
        r":(?<=\d{8}:)(?=[\w-]{35})"),
    "Twilio API Key": _row("twilio-key", _H, "Twilio key", _each("ac sk", "[a-z0-9]{32}")),
}
# fmt: on
# Plugins with their own detector class below, and plugins we leave out on purpose.
_CUSTOM: Final = frozenset({"Private Key", "Secret Keyword", "Base64 High Entropy String"})
_LEFT_OUT: Final = {
    "Hex High Entropy String": "flags every hash and id; hex is never a secret on its own here",
    "Public IP (ipv4)": "an address is infra, not a secret (the infra classifier owns it)",
}

# --- false-positive filters ----------------------------------------------------------------------

_PLACEHOLDER: Final = re.compile(
    r"example|placeholder|changeme|change[_-]me|redacted|dummy|\byour|<[^>]*>|\$\{|\{\{|%\(|"
    r"x{6,}|\*{3,}|\.\.\.|\u2026",
    re.IGNORECASE,
)
_PLACEHOLDER_WORDS: Final = frozenset(
    {"password", "passwd", "pass", "secret", "token", "apikey", "key", "test", "testing", "fake"}
    | {"sample", "none", "null", "nil", "undefined", "true", "false", "string", "str", "value"}
)
_NON_ALNUM: Final = re.compile(r"[^A-Za-z0-9]+")
_NAME_LIKE: Final = re.compile(r"[A-Za-z]+(?:[._/-][A-Za-z]+)+")  # SECRET_KEY, x-api-key, a/b
_CODE_LIKE: Final = re.compile(r"[()\[\]{}<>]|^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+[;:,]?$")
_IDENTIFIER: Final = re.compile(r"[A-Za-z_]+[;:,]?")  # digit-free
_REFERENCE: Final = re.compile(r"[^\W\d]+(?:[.:/-][^\W\d]+)*")  # a digit-free name
_NAME: Final = re.compile(r"[A-Za-z_][\w.:/-]*")
_WORDY: Final = re.compile(r"[a-z]{4,}")
_VALUE_END: Final = re.compile(r"\s|\\[nrt]|[;&](?=\w+=)")  # ...=value;Database=x&ssl=1
_TAIL_OK: Final = re.compile(r"[ \t]*(?:$|#|//|\\[nr]|[,;][ \t]*$)|[;&]\w+=")


def _is_placeholder(value: str) -> bool:
    """Documented examples, templates and obviously fake values are not secrets."""
    core = _NON_ALNUM.sub("", value[:512]).lower()
    if not core or core in _PLACEHOLDER_WORDS or _PLACEHOLDER.search(value):
        return True
    most = max(core.count(c) for c in set(core))
    return (len(core) >= 8 and 2 * most >= len(core)) or _is_sequential(core)


def _is_sequential(core: str) -> bool:
    """``ABCDEFGH…`` or ``12345678…`` after a short prefix such as ``AKIA`` or ``sk``."""
    return any(
        heuristic.is_sequential_string(core[i:]) for i in range(min(8, max(1, len(core) - 11)))
    )


def _is_noise(value: str) -> bool:
    """detect-secrets' default heuristics, plus ours, for keyword/entropy/URL style values."""
    return bool(
        heuristic.is_potential_uuid(value)
        or heuristic.is_templated_secret(value)
        or heuristic.is_prefixed_with_dollar_sign(value)
        or heuristic.is_not_alphanumeric_string(value)
        or any(c.isspace() for c in value)
        or "://" in value
        or _NAME_LIKE.fullmatch(value)
    )


# --- detectors -----------------------------------------------------------------------------------


class _Detector:
    """A family of rules plus its prefilter: a regex for lower-cased text that matches wherever
    any of the rules can. It may match more (it is only a filter), never less."""

    def __init__(self, prefilter: str) -> None:
        self.prefilter = prefilter
        self.gate = re.compile(prefilter)

    def find(self, text: str, start: int, chunk: str, low: str) -> Iterator[_Hit]:
        """Hits in ``chunk`` (= ``text[start:...]``, ``low`` lower-cased), in text offsets."""
        raise NotImplementedError


class _OwnRules(_Detector):
    """The ``_RULES`` table."""

    def __init__(self, rules: tuple[_Rule, ...]) -> None:
        super().__init__("|".join(sorted({re.escape(r.keyword.lower()) for r in rules})))
        self._rules = tuple(
            (r, r.keyword.lower(), _Kind(r.rule, r.severity, r.reason)) for r in rules
        )

    def find(self, text: str, start: int, chunk: str, low: str) -> Iterator[_Hit]:
        for rule, lowered_keyword, kind in self._rules:
            if lowered_keyword in low:
                for m in rule.pattern.finditer(chunk):
                    s, e = m.span(1) if rule.pattern.groups else m.span()
                    yield start + s, start + e, kind


class _PluginDetector(_Detector):
    """One detect-secrets regex plugin: its regexes give the spans, its analyze_string vouches."""

    def __init__(self, plugin: RegexBasedDetector, row: _PluginRow) -> None:
        super().__init__(row.prefilter)
        self._plugin = plugin
        self._regexes = tuple(plugin.denylist)
        self._row = row
        # Plugins that post-filter their regex matches (JWT checks the JSON) must vouch for each.
        self._vouches = type(plugin).analyze_string is not RegexBasedDetector.analyze_string

    def find(self, text: str, start: int, chunk: str, low: str) -> Iterator[_Hit]:
        vouched = set(self._plugin.analyze_string(chunk)) if self._vouches else None
        kinds = self._row.kinds
        for index, regex in enumerate(self._regexes):
            kind = kinds[min(index, len(kinds) - 1)]
            for m in regex.finditer(chunk):
                if vouched is None or m.group() in vouched:
                    s, e = self._row.span(m)
                    if s < e and not (kind.generic and _is_noise(chunk[s:e])):
                        yield start + s, start + e, kind


class _PrivateKeys(_Detector):
    """Private key blocks, whole: from the BEGIN armor through END (PEM) or Private-MAC (PuTTY)."""

    KIND: Final = _Kind("private-key", _C, "private key")
    EXTRA: Final = (re.compile("BEGIN ENCRYPTED PRIVATE KEY"), re.compile("PuTTY-User-Key-File-3"))
    MAX_BLOCK: Final = 64 * 1024
    MIN_BODY: Final = 64  # base64 characters; a bare header is code or docs, not a key
    BODY: Final = re.compile(r"(?:(?:\r?\n|\\r?\\n)[ \t]*[A-Za-z0-9+/=]+)+")
    NON_B64: Final = re.compile(r"\\[nrt]|[^A-Za-z0-9+/=]")
    PUTTY_MAC: Final = re.compile(r"Private-MAC: *[0-9a-fA-F]+")
    ARMOR: Final = re.compile(r"[ -]*")

    def __init__(self) -> None:
        super().__init__("private key|putty-user-key-file-")
        self._headers = (*PrivateKeyDetector.denylist, *self.EXTRA)

    def find(self, text: str, start: int, chunk: str, low: str) -> Iterator[_Hit]:
        for regex in self._headers:
            for m in regex.finditer(chunk):
                span = self._block(text, start + m.start(), start + m.end())
                if span is not None:
                    yield span[0], span[1], self.KIND

    def _block(self, text: str, head: int, head_end: int) -> tuple[int, int] | None:
        begin = head
        while begin > max(0, head - 6) and text[begin - 1] in "- ":
            begin -= 1
        body = _skip(self.ARMOR, text, head_end)
        end = self._end(text, text[head:head_end], body)
        if len(self.NON_B64.sub("", text[body:end])) < self.MIN_BODY:
            return None
        return begin, end

    def _end(self, text: str, header: str, body: int) -> int:
        limit = body + self.MAX_BLOCK
        if header.startswith("PuTTY"):
            mac = self.PUTTY_MAC.search(text, body, limit)
            return mac.end() if mac else body
        marker = "END " + header.removeprefix("BEGIN ")
        found = text.find(marker, body, limit)
        if found >= 0:
            return _skip(self.ARMOR, text, found + len(marker))
        return _skip(self.BODY, text, body)


class _Assignments(_Detector):
    """detect-secrets' KeywordDetector regex tables, in code (quoted) and config (bare) forms."""

    KIND: Final = _Kind("secret-assignment", _H, "value assigned to a secret-like name", True)
    CODE_WORDS: Final = frozenset(
        {"none", "null", "nil", "true", "false", "undefined", "self", "this", "str", "string"}
    )

    def __init__(self) -> None:
        super().__init__("|".join((*keyword.DENYLIST, "contrase")))
        self._plugin = keyword.KeywordDetector()
        tables = {
            **keyword.QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP,
            **keyword.CONFIG_DENYLIST_REGEX_TO_GROUP,
        }
        self._regexes = tuple((_case_sensitive(regex), group) for regex, group in tables.items())

    def find(self, text: str, start: int, chunk: str, low: str) -> Iterator[_Hit]:
        spans = {
            span
            for regex, group in self._regexes
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
        if len(value) < 6 or _is_noise(value) or self._names_a_secret(value, quoted):
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
        return bool(name and self.gate.search(value.lower()))


def _case_sensitive(regex: re.Pattern[str]) -> re.Pattern[str]:
    """The regex for lower-cased text, without IGNORECASE: five times faster, same spans."""
    if re.search(r"(?<!\\)[A-Z]", regex.pattern):
        raise ValueError(f"{regex.pattern!r} has upper-case letters: unsafe on lower-cased text")
    return re.compile(regex.pattern, regex.flags & ~re.IGNORECASE)


class _HighEntropy(_Detector):
    """detect-secrets' Base64 entropy test, only on quoted values assigned to a credential name
    (``auth_token = "…"``, ``"apiKey": "…"``): unrestricted, it flags every hash and blob."""

    KIND: Final = _Kind("high-entropy-string", _L, "random-looking value of a credential", True)
    WORDS: Final = "key token secret passw auth credential"
    ASSIGNED: Final = r"""\w*['"]?\]?\s*(?:=>|:=|[=:])\s*"""

    def __init__(self) -> None:
        super().__init__(_each(self.WORDS, self.ASSIGNED + r"""['"][\w+/=-]{20}"""))
        words = "|".join(self.WORDS.split())
        self._regex = re.compile(f"(?:{words}){self.ASSIGNED}(['\"])([\\w+/=-]{{20,}})\\1")
        self._plugin = Base64HighEntropyString()

    def find(self, text: str, start: int, chunk: str, low: str) -> Iterator[_Hit]:
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


def _build_detectors() -> tuple[_Detector, ...]:
    classes: Mapping[str, type[RegexBasedDetector]] = get_mapping_from_secret_type_to_class()
    plugins = [_PluginDetector(classes[name](), row) for name, row in _PLUGINS.items()]
    return (_OwnRules(_RULES), _PrivateKeys(), *plugins, _Assignments(), _HighEntropy())


def _unmapped_secret_types() -> set[str]:
    """detect-secrets plugins we neither use nor left out on purpose (new in an upgrade)."""
    known = _PLUGINS.keys() | _CUSTOM | _LEFT_OUT.keys()
    return set(get_mapping_from_secret_type_to_class()) - known


# --- scanning ------------------------------------------------------------------------------------

_MAX_LINE: Final = 4096  # longer lines are scanned in windows around prefilter hits
_BEFORE: Final = 256
_AFTER: Final = 4096
_ECHO_MIN: Final = 8
_ECHO_CAP: Final = 64
_ASCII_LOWER: Final = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def _lower(text: str) -> str:
    """Lower-cased text with the same offsets (``str.lower`` may lengthen a few characters)."""
    lowered = text.lower()
    return lowered if len(lowered) == len(text) else text.translate(_ASCII_LOWER)


def _jobs(lowered: str, prefilter: re.Pattern[str], detectors: _Detectors) -> Iterator[_Job]:
    """Where to run which detectors: each short line with a prefilter hit, with the detectors
    whose prefilter it matches; on a long line, a window per detector around its own hits."""
    m = prefilter.search(lowered)
    while m is not None:
        line_start = lowered.rfind("\n", 0, m.start()) + 1
        line_end = lowered.find("\n", m.start())
        line_end = len(lowered) if line_end < 0 else line_end
        if line_end - line_start <= _MAX_LINE:
            low = lowered[line_start:line_end]
            gated = tuple(d for d in detectors if d.gate.search(low))
            yield line_start, line_end - (1 if low.endswith("\r") else 0), gated
        else:
            yield from _long_line_jobs(lowered, prefilter, detectors, m.start(), line_end)
        m = prefilter.search(lowered, line_end + 1)


def _long_line_jobs(
    lowered: str, prefilter: re.Pattern[str], detectors: _Detectors, hit: int, line_end: int
) -> Iterator[_Job]:
    """Windows around each hit for the detectors whose prefilter matches right there, so a
    megabyte of minified JSON or base64 costs its hits, not every detector over all of it."""
    line_start = lowered.rfind("\n", 0, hit) + 1
    windows: dict[_Detector, list[int]] = {}
    at: int | None = hit
    while at is not None:
        start, end = max(line_start, at - _BEFORE), min(line_end, at + _AFTER)
        for detector in detectors:
            if not detector.gate.match(lowered, at, line_end):
                continue
            window = windows.get(detector)
            if window is not None and start <= window[1]:
                window[1] = end
                continue
            if window is not None:
                yield window[0], window[1], (detector,)
            windows[detector] = [start, end]
        m = prefilter.search(lowered, at + 1, line_end)  # from at + 1: hits may overlap
        at = None if m is None else m.start()
    yield from ((start, end, (detector,)) for detector, (start, end) in windows.items())


def _echoes(text: str, hits: list[_Hit]) -> list[_Hit]:
    """Other occurrences of values found by generic rules: the same secret, repeated elsewhere."""
    values = {
        value: k
        for s, e, k in hits
        if k.generic and k.severity >= _H and _echoable(value := text[s:e])
    }
    known = {(s, e) for s, e, _ in hits}
    echoes: list[_Hit] = []
    for value, kind in list(values.items())[:_ECHO_CAP]:
        repeat = dataclasses.replace(kind, reason=kind.reason + " (repeated)")
        at = text.find(value)
        while at >= 0:
            end = at + len(value)
            if (at, end) not in known and not (_wordish(text, at - 1) or _wordish(text, end)):
                echoes.append((at, end, repeat))
            at = text.find(value, end)
    return echoes


def _echoable(value: str) -> bool:
    """Long, with letters and digits: another occurrence is surely the same secret."""
    has_digit = any(c.isdigit() for c in value)
    return len(value) >= _ECHO_MIN and has_digit and any(c.isalpha() for c in value)


def _wordish(text: str, index: int) -> bool:
    return 0 <= index < len(text) and (text[index].isalnum() or text[index] == "_")


def _resolve(hits: list[_Hit]) -> list[_Hit]:
    """Non-overlapping hits sorted by start; on overlap the most severe, specific, longest wins."""
    ranked = sorted(
        set(hits), key=lambda h: (-h[2].severity, h[2].generic, h[0] - h[1], h[0], h[2].rule)
    )
    starts: list[int] = []
    kept: list[_Hit] = []
    for hit in ranked:
        i = bisect.bisect_left(starts, hit[0])
        if (i > 0 and kept[i - 1][1] > hit[0]) or (i < len(kept) and kept[i][0] < hit[1]):
            continue
        starts.insert(i, hit[0])
        kept.insert(i, hit)
    return kept


class SecretScanner:
    """Thread-safe after construction; construct once, call scan() many times."""

    def __init__(self) -> None:
        self._detectors = _build_detectors()
        self._prefilter = re.compile("|".join(d.prefilter for d in self._detectors))

    def scan(self, text: str) -> list[SecretMatch]:
        """Secrets in ``text``, sorted by start, with no two spans overlapping.

        Args:
            text: any decoded text (prompt, file, log); offsets are character offsets into it.

        Returns:
            One match per occurrence of a secret; the value itself is ``text[start:end]``.
        """
        lowered = _lower(text)
        hits = [
            hit
            for start, end, detectors in _jobs(lowered, self._prefilter, self._detectors)
            for detector in detectors
            for hit in detector.find(text, start, text[start:end], lowered[start:end])
        ]
        hits = [hit for hit in hits if not _is_placeholder(text[hit[0] : hit[1]])]
        hits += _echoes(text, hits)
        return [SecretMatch(k.rule, k.severity, s, e, k.reason) for s, e, k in _resolve(hits)]

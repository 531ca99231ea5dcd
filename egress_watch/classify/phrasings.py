"""Credentials as people paste them into prompts, where no vendor format or keyword table looks.

``GITHUB_TOKEN=abc…`` (a name ending in TOKEN, unquoted), ``Authorization: Bearer …`` lines,
"my API token is …", ``Settings(x_secret="…")``, ``setdefault('NAME', '…')``, URL passwords
with any printable character, Kubernetes/JSON ``name:``/``value:`` pairs on adjacent lines,
``.netrc``, ``.npmrc``, ``.pypirc`` and Docker ``config.json`` auths. Each detector says which
anchors it needs (the prefilter finds them) and checks the value looks like a credential, not a
name, a reference, a path or a word. Nothing here imports detect_secrets.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator
from typing import Final

from egress_watch.classify.kinds import Detector, Hit, Kind
from egress_watch.classify.prefilter import Anchor, Gate, anchors
from egress_watch.model import Severity

_H, _C = Severity.HIGH, Severity.CRITICAL

NAMED: Final = Kind("secret-named-value", _H, "value of a credential-named setting", True)
HEADER: Final = Kind("auth-header", _H, "credential in an authorization header", True)
SAID: Final = Kind("stated-credential", _H, "credential stated in prose", True)
URL_PASSWORD: Final = Kind("url-password", _H, "password in a URL", True)
PAIRED: Final = Kind(
    "secret-named-value", _H, "value of a credential named on the line above", True
)
NETRC: Final = Kind("netrc-password", _H, "password in a .netrc entry", True)
REGISTRY: Final = Kind("registry-auth", _C, "package-registry or Docker registry credential", True)

# A name ends in one of these: GITHUB_TOKEN, ci-signing-key, dbPassword, x_secret.
_SUFFIX: Final = (
    r"(?:token|secret|secret_?key|passw(?:or)?d|pwd|passphrase|api_?key|apikey|access_?key|"
    r"signing_?key|private_?key|auth_?key|encryption_?key|master_?key|client_?secret|"
    r"credentials?|auth|pat|bearer|dsn|license_?key|webhook_?secret|session_?key)"
)
_NAME: Final = rf"[A-Za-z_][\w.-]{{0,60}}?{_SUFFIX}|{_SUFFIX}"
# Possessive: a value that cannot end where it must is given up at once, not retried shorter
# at every length (on a line of repeated ``api_key=`` that retrying was quadratic).
_VALUE: Final = r"[^\s'\"`,;()<>\[\]{}]{6,512}+"
_QUOTED: Final = r"[^'\"`\n]{6,512}+"

# NAME=value, NAME: value, export NAME="value", name => 'value', x_secret="…" (call arguments);
# the name is matched greedily and its ending checked after (a lazy name-then-suffix regex
# costs sixty tries per word).
_ASSIGN: Final = re.compile(
    r"""(?<![\w.-])([A-Za-z_][\w.-]{0,80})["'`]?\]?[ \t]*(?::=|=>|==|=|:)[ \t]*"""
    rf"""(?:(["'`])({_QUOTED})\2|({_VALUE})(?=\s|$|[#,;&)]|\\[nr]|["']\s*[,}}]))"""
)
_NAME_END: Final = re.compile(rf"(?i){_SUFFIX}$")
# setdefault('NAME', 'v'), os.environ["NAME"] = "v", getenv("NAME", "v"), putenv(...)
_ENV_CALL: Final = re.compile(
    rf"""(?i)(?:setdefault|environ|getenv|putenv|setenv|\.get)\s*[(\[]\s*(["'])(?:{_NAME})\1"""
    rf"""\s*(?:,|\]\s*=)\s*(["'])({_QUOTED})\2"""
)
_HEADER_RE: Final = re.compile(
    r"""(?i)(?<![\w-])(?:proxy-)?authorization["']?\s*[:=]\s*["']?"""
    r"""(?:bearer|basic|token|bot|apikey|api-key|sso-key|key|digest|gitlab-token|pat)"""
    r"""[ \t]+([A-Za-z0-9._~+/:=-]{12,2048})"""
    r"""|(?<![\w-])(?:x-[\w-]*(?:api-?key|token|auth|secret)[\w-]*|private-token|api-?key|"""
    r"""x-goog-api-key|x-auth|apikey)["']?\s*:\s*["']?([A-Za-z0-9._~+/=-]{12,2048})"""
)
_PROSE: Final = re.compile(
    rf"""(?i)\b(?:my|the|our|your|this|its|a|new)\s+((?:[\w.-]+\s+){{0,3}}?"""
    rf"""(?:token|key|password|passphrase|secret|credential|pat|passwd|api\s+key))\s+"""
    rf"""(?:is|was|=|:|reads|would\s+be|should\s+be)\s*:?\s+[`"']?({_VALUE})"""
    rf"""|\b(?:set|export|put|use|using|change|changed|rotate[d]?)\s+[`"']?(?:{_NAME})[`"']?"""
    rf"""\s+(?:to|=|as|with|is)\s+[`"']?({_VALUE})"""
    rf"""|\b(?:token|password|passphrase|secret|key)\s+[`"']({_QUOTED})[`"']"""
)
# scheme://user:password@host — the password may hold any printable character, even '@'
_URL: Final = re.compile(
    r"[A-Za-z][A-Za-z0-9+.-]{1,20}://[^\s:/@'\"]{1,128}:([^\s'\"]{1,256}?)@"
    r"(?=[A-Za-z0-9\[][\w.\[\]:-]{0,253}(?:[/?#:\s'\",;)]|$))"
)
_KUBE_VALUE: Final = re.compile(
    r"""(?i)["']?value["']?\s*:\s*(?:(["'])([^"'\n]{6,512})\1|(\S{6,512}))"""
)
_KUBE_NAME: Final = re.compile(
    rf"""(?i)["']?(?:name|key)["']?\s*:\s*["']?(?:{_NAME})["']?\s*,?\s*$"""
)
_KUBE_SAME_LINE: Final = re.compile(
    rf"""(?i)["']?(?:name|key)["']?\s*:\s*["']?(?:{_NAME})["']?\s*,\s*["']?value["']?\s*:\s*"""
    rf"""(["']?)({_QUOTED})\1"""
)
_NETRC: Final = re.compile(r"(?i)(?:^|\s)password[ \t]+(\S{4,256})(?=\s|$)")
_NETRC_CONTEXT: Final = re.compile(r"(?i)\b(?:machine|login|default)\b")
_NPMRC: Final = re.compile(r"(?i)(?:^|:)_(?:auth|password|authtoken)\s*=\s*[\"']?([^\s\"']{8,})")
_DOCKER: Final = re.compile(r"""(?i)"(?:auth|identitytoken|registrytoken)"\s*:\s*"([^"\s]{8,})\"""")

_WORDY: Final = re.compile(r"[a-z]{4,}")
_CODE_WORDS: Final = frozenset(
    [
        "none",
        "null",
        "nil",
        "true",
        "false",
        "undefined",
        "self",
        "this",
        "str",
        "string",
        "bool",
        "int",
        "required",
        "optional",
        "env",
        "secret",
        "token",
        "password",
        "bearer",
        "basic",
    ]
)
_REFERENCE: Final = re.compile(
    r"[$%&*]|^#[0-9a-fA-F]{3,8}$|^(?:\.{0,2}/|~/)|^[A-Za-z_]+(?:\.[A-Za-z_]+)+$|^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$"
    r"|^[\d.:-]+$|^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$|\.(?:json|ya?ml|pem|key|txt|env|toml|ini|cfg|conf|crt|p12)$|://"
)
_STRIP: Final = ".,;:!?)]}>'\"`"


def _entropy(value: str) -> float:
    counts = Counter(value)
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


_DIGITS: Final = re.compile(r"\d")
_LOWER: Final = re.compile(r"[^\W\d_A-Z]")  # a lower-case (or caseless) letter
_UPPER: Final = re.compile(r"[A-Z]")
_OTHER: Final = re.compile(r"[\W_]")


def secretish(value: str, loose: bool = False) -> bool:
    """Could ``value`` be a credential rather than a name, a word, a number or a reference?

    ``loose`` (a value in a password-only position: .netrc, a URL, a header) also accepts
    short human passwords such as ``p*ss$w&rd99``.
    """
    if not 6 <= len(value) <= 2048 or value.lower() in _CODE_WORDS:
        return False
    if _REFERENCE.search(value) and not loose:
        return False
    digits = len(_DIGITS.findall(value))
    classes = (
        (_LOWER.search(value) is not None)
        + (_UPPER.search(value) is not None)
        + (digits > 0)
        + (_OTHER.search(value) is not None)
    )
    wordy = 2 * sum(len(run) for run in _WORDY.findall(value)) >= len(value)
    if loose:
        return classes >= 2 and (len(value) >= 8 or classes >= 3)
    if wordy and digits < 2:
        return False
    if len(value) < 12:
        return classes >= 3 and digits >= 1
    return classes >= 2 and _entropy(value) >= 3.0


def _trim(chunk: str, s: int, e: int) -> tuple[int, int]:
    """Drop sentence punctuation a prose value picked up: ``…is abc123.``."""
    while e > s and chunk[e - 1] in _STRIP:
        e -= 1
    return s, e


class _Assignments(Detector):
    """NAME=value for names ending in a credential word, quoted or not, any case."""

    pure = True

    def __init__(self) -> None:
        # Every credential suffix ends in one of these words (password: pass + word).
        words = "token secret pass pwd key auth credential pat bearer dsn"
        ending = r"{}(?:word|wd|phrase|s)?[\"'`]?\]?[ \t]*(?::=|=>|==|=|:)"
        self.gate = Gate(
            anchors(words, ending)
            + anchors("setdefault getenv putenv setenv")
            + anchors("environ", r"environ\s*\[\s*[\"']")
        )

    def find(self, text: str, start: int, chunk: str, low: str) -> Iterator[Hit]:
        for m in _ASSIGN.finditer(chunk):
            if not _NAME_END.search(m.group(1)):
                continue
            group = 3 if m.group(3) is not None else 4
            s, e = m.span(group)
            if secretish(chunk[s:e]):
                yield start + s, start + e, NAMED
        for m in _ENV_CALL.finditer(chunk):
            s, e = m.span(3)
            if secretish(chunk[s:e]):
                yield start + s, start + e, NAMED


class _Headers(Detector):
    """``Authorization: Bearer …``, ``-H 'X-API-Key: …'``, ``PRIVATE-TOKEN: …``."""

    pure = True

    def __init__(self) -> None:
        literals = "authorization private-token api-key apikey x-auth x-goog-api-key"
        self.gate = Gate((*anchors(literals), Anchor("x-", r"x-[\w-]*(?:token|secret)")))

    def find(self, text: str, start: int, chunk: str, low: str) -> Iterator[Hit]:
        for m in _HEADER_RE.finditer(chunk):
            group = 1 if m.group(1) is not None else 2
            s, e = m.span(group)
            if secretish(chunk[s:e], loose=True) and not _REFERENCE.search(chunk[s:e]):
                yield start + s, start + e, HEADER


class _Prose(Detector):
    """ "my GitHub token is …", "I set `OPENAI_API_KEY` to `…`", "password 'x'"."""

    pure = True

    def __init__(self) -> None:
        words = "token key password passphrase secret credential passwd pat"
        self.gate = Gate(
            anchors(words, r"{}[\w`'\"]*\s+(?:is|was|=|:|reads|would|should|to|as|with|`|'|\")")
        )

    def find(self, text: str, start: int, chunk: str, low: str) -> Iterator[Hit]:
        for m in _PROSE.finditer(chunk):
            group = next(g for g in (2, 3, 4) if m.group(g) is not None)
            s, e = _trim(chunk, *m.span(group))
            if secretish(chunk[s:e]):
                yield start + s, start + e, SAID


class _UrlPasswords(Detector):
    """``scheme://user:p*ss$w&rd@host``: whatever sits between ``user:`` and the last ``@``."""

    pure = True

    def __init__(self) -> None:
        self.gate = Gate(anchors("://", r"://[^\s:/@'\"]{1,128}:"))

    def find(self, text: str, start: int, chunk: str, low: str) -> Iterator[Hit]:
        for m in _URL.finditer(chunk):
            s, e = m.span(1)
            value = chunk[s:e]
            if len(value) >= 4 and not value.startswith(("$", "{", "%", "<")):
                yield start + s, start + e, URL_PASSWORD


class _NameValuePairs(Detector):
    """Kubernetes ``- name: DB_PASSWORD`` / ``value: …`` and JSON ``{"name": …, "value": …}``."""

    def __init__(self) -> None:
        self.gate = Gate(anchors("value", r"value[\"']?\s*:"))

    def find(self, text: str, start: int, chunk: str, low: str) -> Iterator[Hit]:
        for m in _KUBE_SAME_LINE.finditer(chunk):
            s, e = m.span(2)
            if secretish(chunk[s:e]):
                yield start + s, start + e, PAIRED
                return
        value = _KUBE_VALUE.search(chunk)
        if value is None or start == 0:
            return
        prev_end = start - 1
        prev_start = text.rfind("\n", max(0, prev_end - 512), prev_end) + 1
        if not _KUBE_NAME.search(text, prev_start, prev_end):
            return
        group = 2 if value.group(2) is not None else 3
        s, e = value.span(group)
        if secretish(chunk[s:e]):
            yield start + s, start + e, PAIRED


class _ConfigFiles(Detector):
    """``.netrc`` passwords, ``.npmrc`` ``_auth``/``_password``, Docker ``"auth": "…"``."""

    def __init__(self) -> None:
        self.gate = Gate(
            anchors("machine", r"machine[ \t]+\S+[ \t]+(?:login[ \t]+\S+[ \t]+)?password[ \t]")
            + anchors("password", r"password[ \t]+\S+[ \t]*(?:\r?\n|$)")
            + anchors(":_auth :_password _auth= _password=")
            + anchors('"auth" "identitytoken" "registrytoken"', r'{}\s*:\s*"')
        )

    def find(self, text: str, start: int, chunk: str, low: str) -> Iterator[Hit]:
        for m in _NETRC.finditer(chunk):
            s, e = m.span(1)
            around = text[max(0, start - 256) : start + len(chunk)]
            if _NETRC_CONTEXT.search(around) and secretish(chunk[s:e], loose=True):
                yield start + s, start + e, NETRC
        for regex in (_NPMRC, _DOCKER):
            for m in regex.finditer(chunk):
                s, e = m.span(1)
                if secretish(chunk[s:e], loose=True) and not chunk[s:e].startswith("$"):
                    yield start + s, start + e, REGISTRY


def detectors() -> tuple[Detector, ...]:
    """Every prompt-shape detector, for SecretScanner."""
    return (
        _Assignments(),
        _Headers(),
        _Prose(),
        _UrlPasswords(),
        _NameValuePairs(),
        _ConfigFiles(),
    )

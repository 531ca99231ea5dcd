"""Pathological inputs for the classifiers: one repeated pattern per detector, at any size.

Shared by tests/unit/test_pathological.py (scaling ratios) and bench/bench_pathological.py
(the scaling table). Every value is built at run time from parts, so no literal here is a key a
scanner would flag, and every generator is deterministic for a given size.
"""

from __future__ import annotations

import base64
import random
import string
from collections.abc import Callable

from egress_watch.classify.engine import Engine
from egress_watch.config.settings import Settings

KEY = b"p" * 32
_ALNUM = string.ascii_uppercase + string.digits


def _repeat(unit: str, size: int) -> str:
    """``unit`` repeated to exactly ``size`` characters."""
    return (unit * (size // len(unit) + 1))[:size]


def _units(make: Callable[[random.Random], str], size: int, seed: int = 7) -> str:
    """Units made one by one (each different) until the text reaches ``size`` characters."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    parts: list[str] = []
    total = 0
    while total < size:
        part = make(rng)
        parts.append(part)
        total += len(part)
    return "".join(parts)[:size]


def _word(rng: random.Random, alphabet: str, length: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(length))


def urls(size: int) -> str:
    """The issue's row: the same internal URL over and over, space-separated, in one line."""
    return _repeat("http://10.0.0.1/a?x=1 ", size)


def emails(size: int) -> str:
    return _units(lambda r: f"{_word(r, 'abcdefgh', 6)}.{_word(r, 'xyz', 4)}@corp-mail.io ", size)


def key_prefixes(size: int) -> str:
    """Every token prefix the rules anchor on, bare and glued, with no valid token after it."""
    return _repeat("AKIA ghp_ sk- xoxb- xoxp- github_pat_ AIza sk-ant- glpat- eyJ ", size)


def glued_prefixes(size: int) -> str:
    """Prefixes glued into one run: every occurrence starts a candidate token."""
    return _repeat("AKIAghp_sk-xoxb-eyJ", size)


def fake_tokens(size: int) -> str:
    """Well-formed tokens (AWS key ids, GitHub tokens) built from random parts, each unique."""
    prefixes = ("AK" + "IA", "gh" + "p_")

    def token(rng: random.Random) -> str:
        if rng.random() < 0.5:
            return prefixes[0] + _word(rng, _ALNUM, 16) + " "
        return prefixes[1] + _word(rng, string.ascii_letters + string.digits, 36) + " "

    return _units(token, size)


def pem_headers(size: int) -> str:
    """Private-key headers with no END line: each one could open a block."""
    return _repeat("-----BEGIN RSA PRIVATE KEY-----\n", size)


def hex_tokens(size: int) -> str:
    return _units(lambda r: _word(r, "0123456789abcdef", 40) + "\n", size)


def random_base64(size: int) -> str:
    """One blob of random base64 with no line breaks (an inlined image or archive)."""
    raw = random.Random(11).randbytes(size * 3 // 4 + 3)  # noqa: S311 - test data
    return base64.b64encode(raw).decode()[:size]


def code_line(size: int) -> str:
    """One line of code with secret-ish names and assignments, and no newline."""
    return _repeat('x = auth(password=get_pw(), token="t"); if role == admin: key = k[0]; ', size)


def no_newline(size: int) -> str:
    """Prose with no newline at all."""
    return _repeat("The retry loop backs off exponentially and logs each attempt. ", size)


def credentials_in_urls(size: int) -> str:
    """``user:pass@host`` again and again, as URLs and bare."""
    return _repeat("postgres://app:hunter22@db.internal:5432/x user:pass@host ", size)


def private_ips(size: int) -> str:
    return _units(lambda r: f"10.{r.randrange(256)}.{r.randrange(256)}.{r.randrange(256)} ", size)


def hyphen_run(size: int) -> str:
    """``a-a-a-…``: a word boundary at every character, each one a place a host could start."""
    return _repeat("a-", size)


def dotted_run(size: int) -> str:
    """``a.a.a.…``: one endless dotted host name that never reaches a known domain."""
    return _repeat("a.", size)


def logic_indicators(size: int) -> str:
    """Code dense with security-logic indicators of one family, each window full of them."""
    head = "def check():\n"
    return head + _repeat("bcrypt(argon2, scrypt, pbkdf2) ", size - len(head))


def aws_pairs(size: int) -> str:
    """AWS key ids each with a secret key line nearby: every id is compared with the secrets."""
    key_id = "AK" + "IA"
    name = "aws_secret" + "_access_key"

    def pair(rng: random.Random) -> str:
        secret = _word(rng, string.ascii_letters + string.digits + "/+", 40)
        return f"id = {key_id}{_word(rng, _ALNUM, 16)}\n{name} = {secret}\n"

    return _units(pair, size)


def markers(size: int) -> str:
    """Labels, codenames and copyright lines of the configured organisation, over and over."""
    return _repeat("CONFIDENTIAL Bluebird notes. Copyright 2024 Acme Corp\n", size)


PATTERNS: dict[str, Callable[[int], str]] = {
    "urls": urls,
    "emails": emails,
    "key-prefixes": key_prefixes,
    "glued-prefixes": glued_prefixes,
    "fake-tokens": fake_tokens,
    "pem-headers": pem_headers,
    "hex-tokens": hex_tokens,
    "random-base64": random_base64,
    "code-line": code_line,
    "no-newline": no_newline,
    "user-pass-host": credentials_in_urls,
    "private-ips": private_ips,
    "hyphen-run": hyphen_run,
    "dotted-run": dotted_run,
    "logic": logic_indicators,
    "aws-pairs": aws_pairs,
    "markers": markers,
}


def proxy_engine(tmp_dir: str) -> Engine:
    """The engine the proxy builds (``Engine.configured``), with internal domains and marker
    words set so those detectors run too."""
    from pathlib import Path

    settings = Settings(
        infra_domains=("corp.example", "internal"),
        marker_words=("Bluebird",),
        marker_owners=("Acme Corp",),
    )
    return Engine.configured(KEY, settings, Path(tmp_dir), strict_index=False)

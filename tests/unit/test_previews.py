"""Previews never leak: no finding's preview shows a character of another finding's value, an
e-mail never spans ``user:pass@``, and values under 16 characters show no character at all."""

from __future__ import annotations

import re

from egress_watch.classify.categories import CategoryScanner
from egress_watch.classify.engine import Engine
from egress_watch.classify.secrets import SecretScanner
from egress_watch.model import Category, Finding
from tests.unit.test_secrets import ALNUM, GHP, HEX, fake

KEY = b"k" * 32
_SHOWN = re.compile(r"^(.*)…(.*) \(\d+ chars\)$")


def _engine() -> Engine:
    return Engine(KEY, SecretScanner(), categories=CategoryScanner((), (), ()))


def _shown_spans(f: Finding) -> list[tuple[int, int]]:
    """The offsets of the characters a preview shows (its head and its tail)."""
    m = _SHOWN.match(f.masked)
    if m is None or f.masked.startswith("<"):
        return []
    head, tail = len(m.group(1)), len(m.group(2))
    return [(f.start, f.start + head), (f.end - tail, f.end)]


def test_no_preview_shows_a_character_of_another_finding() -> None:
    password = "Pa$$w0rd&" + fake("pv-pw", 8, ALNUM)
    text = (
        f"DATABASE_URL=postgres://svc.account:{password}@db.corp-internal.org:5432/app\n"
        f"mail ops@corp-internal.org, token {GHP}\n"
        f"SENTRY_AUTH_TOKEN={fake('pv-sentry', 40, HEX)}\n"
        f"conn: mysql://root:{fake('pv-my', 14, ALNUM)}*x@10.1.2.3/db\n"
    )
    findings = _engine().classify_text(text)
    assert any(f.category is Category.SECRET for f in findings)
    for f in findings:
        for g in findings:
            if g is f:
                continue
            for s, e in _shown_spans(f):
                assert not (s < g.end and g.start < e), (f.rule, f.masked, g.rule)


def test_an_email_never_spans_a_url_password() -> None:
    password = "p*ss$w&rd" + fake("pv-url", 4, "0123456789")
    text = f"postgres://admin:{password}@db.corp-internal.org:5432/app\n"
    findings = _engine().classify_text(text)
    assert not [f for f in findings if f.rule == "email"]
    secret = next(f for f in findings if f.category is Category.SECRET)
    assert text[secret.start : secret.end] == password
    assert secret.masked == f"…({len(password)} chars)"


def test_values_under_sixteen_characters_show_nothing() -> None:
    value = fake("pv-short", 12, ALNUM) + "7a"
    text = f"MY_SERVICE_TOKEN={value}\n"
    [finding] = _engine().classify_text(text)
    assert finding.masked == f"…({len(value)} chars)"

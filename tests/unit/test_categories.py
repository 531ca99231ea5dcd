"""Infra, marker, PII and security-logic classifiers: what they find and what they leave alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from egress_watch.classify.categories import CategoryScanner, iban_valid, luhn_valid
from egress_watch.classify.engine import Engine
from egress_watch.classify.logic import scan_logic
from egress_watch.config.settings import Settings
from egress_watch.model import Category
from tests.support.own_code import own_source

PACKAGE = Path(__file__).parents[2] / "egress_watch"


def card_number(prefix: str = "4000") -> str:
    """A Luhn-valid 16-digit number built at run time (no card-like literal in the repo)."""
    body = prefix + "12" * 5 + "34"[:1]
    for check in "0123456789":
        if luhn_valid(body + check):
            return body + check
    raise AssertionError("no check digit")


def iban(country: str = "GB", bban: str = "WEST" + "1234" + "5698" + "765432") -> str:
    """An IBAN with check digits computed at run time."""
    moved = bban + country + "00"
    check = 98 - int("".join(str(int(c, 36)) for c in moved)) % 97
    return f"{country}{check:02d}{bban}"


def rules(text: str, scanner: CategoryScanner | None = None) -> list[str]:
    return [m.rule for m in (scanner or CategoryScanner()).scan(text)]


def test_infra_finds_configured_domains_private_ips_and_internal_urls() -> None:
    scanner = CategoryScanner(domains=("corp.example",))
    text = (
        "deploy to build01.eu.corp.example then curl http://10.20.30.40:8080/health and "
        "https://wiki.intranet/page; db at 192.168.1.20, gateway 172.20.0.1"
    )
    found = rules(text, scanner)
    assert found.count("internal-domain") == 1
    assert found.count("internal-url") == 2
    assert found.count("private-ip") == 2


def test_infra_leaves_public_and_version_numbers_alone() -> None:
    text = (
        "pip install foo==10.0.0.1 is not an address; see https://example.com/docs, "
        "DNS 8.8.8.8, loopback 127.0.0.1, version 1.2.3.4.5, and corp.example.org"
    )
    assert rules(text, CategoryScanner(domains=("corp.example",))) == []


def test_markers_find_codenames_labels_and_copyright() -> None:
    scanner = CategoryScanner(words=("Project Falcon",), owners=("Acme Corp",))
    text = "# Copyright (c) 2024 Acme Corp. All rights reserved.\n# CONFIDENTIAL\nproject falcon v2"
    assert sorted(rules(text, scanner)) == ["classification-label", "codename", "copyright-header"]


def test_markers_ignore_ordinary_words() -> None:
    text = "Keep this confidential between us. Copyright (c) 2024 The Python Software Foundation."
    assert rules(text, CategoryScanner(owners=("Acme Corp",))) == []


def test_pii_finds_emails_phones_cards_and_ibans() -> None:
    text = (
        f"mail jane.doe@acme-mail.io or call +44 20 7946 0958 / (415) 555-0132; "
        f"card {card_number()[:4]} {card_number()[4:8]} {card_number()[8:12]} {card_number()[12:]}"
        f"; pay to {iban()}"
    )
    found = CategoryScanner().scan(text)
    assert sorted(m.rule for m in found) == ["card-number", "email", "iban", "phone-number",
                                              "phone-number"]  # fmt: skip
    assert {m.category for m in found} == {Category.PII}
    assert all(m.severity.label == "low" for m in found)


@pytest.mark.parametrize(
    "text",
    [
        "contact admin@example.com for access",
        f"order id {card_number()[:-1]}{(int(card_number()[-1]) + 1) % 10} failed",  # not Luhn
        "timestamp 1700000000123, build 2024-11-27, uuid 123e4567-e89b-12d3-a456-426614174000",
        "GB00WEST12345698765432 is not a valid IBAN",
        "x = compute(1, 2) + 3.14159265358979",
    ],
)
def test_pii_false_alarms_are_rare(text: str) -> None:
    assert rules(text) == []


def test_ordinary_code_has_no_pii_or_logic_alarms() -> None:
    for name in ("redact.py", "pipeline.py", "decode.py", "responses.py", "policy.py"):
        text = own_source(name).read_text()
        assert [r for r in rules(text) if r in {"card-number", "iban", "phone-number"}] == []
        assert scan_logic(text) == [], name


def test_security_logic_is_reported_with_its_reason() -> None:
    code = """
def login(user, password):
    record = users.get(user)
    if not bcrypt.checkpw(password, record.password_hash):
        raise PermissionDenied()
    return jwt.encode({"sub": user}, SECRET)

def verify_token(token):
    return jwt.decode(token, SECRET)
"""
    [match] = scan_logic(code)
    assert match.family == "authentication"
    assert "bcrypt" in match.reason
    assert scan_logic("We discussed the pricing and discount margin at the offsite.") == []


def test_engine_reports_new_categories_when_configured(tmp_path: Path) -> None:
    settings = Settings(infra_domains=("corp.example",), marker_words=("Falcon",))
    engine = Engine.configured(b"k" * 32, settings, tmp_path)
    findings = engine.classify_text("ask api.corp.example about Falcon, or bob@acme-mail.io")
    assert {f.category for f in findings} == {Category.INFRA, Category.MARKER, Category.PII}
    assert all("bob@acme" not in f.masked for f in findings)
    assert iban_valid(iban())

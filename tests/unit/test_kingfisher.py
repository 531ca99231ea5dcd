"""kingfisher's catalog as our vendor-format engine: one compiled scanner, a private rule cache
inside the data home, ``kingfisher:<rule>`` ids, identifiers left out, character offsets."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from egress_watch.classify import kingfisher
from egress_watch.classify.secrets import SecretScanner
from egress_watch.errors import ConfigError
from egress_watch.paths import HomePaths
from tests.unit.test_secrets import ALNUM, HEX, fake


def test_the_rule_cache_lives_in_the_data_home_by_default(
    ew_home: HomePaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(kingfisher.CACHE_ENV)
    assert kingfisher.rule_cache_dir() == ew_home.home / "rule-cache"


def test_the_cache_directory_is_made_private(tmp_path: Path) -> None:
    place = tmp_path / "home" / "rule-cache"
    kingfisher._private_dir(place)
    assert stat.S_IMODE(place.stat().st_mode) == 0o700
    place.chmod(0o755)
    kingfisher._private_dir(place)
    assert stat.S_IMODE(place.stat().st_mode) == 0o700


def test_an_unusable_cache_is_a_clear_error_naming_the_fix(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    with pytest.raises(ConfigError, match=r"delete .*not-a-dir"):
        kingfisher._compile(blocker / "rule-cache")


def test_one_scanner_per_process() -> None:
    assert kingfisher.shared_scanner() is kingfisher.shared_scanner()


def test_vendor_formats_we_have_no_rule_for_come_from_the_catalog() -> None:
    token = "dop_v1_" + fake("do", 64, HEX)  # ours: digitalocean-token
    linear = "lin_api_" + fake("linear", 40, ALNUM)
    text = f"deploy with {token}\nLINEAR_API_KEY = {linear}\n"
    matches = SecretScanner().scan(text)
    by_value = {text[m.start : m.end]: m for m in matches}
    assert by_value[token].rule == "digitalocean-token"  # our established id wins on a tie
    assert by_value[linear].rule.startswith("kingfisher:linear")
    assert by_value[linear].confidence in {"high", "medium"}


def test_offsets_are_characters_after_non_ascii_text() -> None:
    linear = "lin_api_" + fake("linear-2", 40, ALNUM)
    text = "Grüße, 日本語 ✓ — " * 3 + f"LINEAR_API_KEY={linear}\n"
    hits = kingfisher.scan(text)
    assert [text[s:e] for s, e, _ in hits] == [linear]


def test_identifiers_are_not_secrets() -> None:
    assert kingfisher.is_identifier("betterleaks.adobe-client-id")
    assert kingfisher.is_identifier("betterleaks.cloudflare-account-id.1")
    assert kingfisher.is_identifier("betterleaks.supabase-project-url")
    assert not kingfisher.is_identifier("betterleaks.github-pat")
    assert not kingfisher.is_identifier("betterleaks.aws-secret-access-key")


def test_an_aws_secret_alone_is_not_a_catalog_finding_but_with_its_key_id_it_is() -> None:
    secret = fake("aws-lone", 40, ALNUM + "+/")
    alone = f'auth_token = "{secret}"\n'
    assert not any(k.rule.endswith("aws-secret-access-key") for _, _, k in kingfisher.scan(alone))
    key_id = "AK" + "IA" + fake("aws-pair", 16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    paired = f"aws_access_key_id = {key_id}\naws_secret_access_key = {secret}\n"
    found = {paired[s:e] for s, e, _ in kingfisher.scan(paired)}
    assert {key_id, secret} <= found

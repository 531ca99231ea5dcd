"""Allowlist imports: detect-secrets baselines and gitleaks ignore files, and their errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from egress_watch.classify.allowlist import (
    build_allowlist,
    detect_secrets_hashes,
    gitleaks_ignores,
)


def baseline(*entries: dict[str, object]) -> str:
    return json.dumps({"version": "1.5.0", "results": {"a.py": list(entries)}})


def test_baseline_hashes_skip_entries_audited_as_real_secrets() -> None:
    content = baseline(
        {"type": "Secret Keyword", "hashed_secret": "a" * 40, "line_number": 1},
        {"type": "Secret Keyword", "hashed_secret": "b" * 40, "is_secret": False},
        {"type": "Secret Keyword", "hashed_secret": "c" * 40, "is_secret": True},
    )
    assert detect_secrets_hashes(content) == {"a" * 40, "b" * 40}


@pytest.mark.parametrize("content", ["{not json", '{"version": "1"}', "[]"])
def test_a_broken_baseline_is_an_error_naming_the_file(content: str) -> None:
    with pytest.raises(ValueError, match=r"x\.baseline"):
        detect_secrets_hashes(content, "x.baseline")


def test_gitleaksignore_lines_map_to_our_rules_and_files() -> None:
    content = (
        "# comment\n\n"
        "0123abcd0123abcd0123abcd0123abcd0123abcd:src/app.py:github-pat:10\n"
        "config/prod.env:generic-api-key:4\n"
        "vendor/x.js:some-rule-we-lack:2\n"
        "not a fingerprint line\n"
    )
    assert gitleaks_ignores(content) == [
        ("github-token", "src/app.py"),
        ("secret-assignment", "config/prod.env"),
        ("some-rule-we-lack", "vendor/x.js"),
    ]


def test_build_allowlist_rejects_a_bad_pattern_and_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="allowlist value pattern"):
        build_allowlist(values=["("])
    with pytest.raises(ValueError, match="cannot read"):
        build_allowlist(baselines=[tmp_path / "missing.baseline"])


def test_an_empty_allowlist_is_falsy_and_a_configured_one_is_not() -> None:
    assert not build_allowlist()
    assert build_allowlist(rules=["jwt"])

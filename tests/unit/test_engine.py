"""Engine: findings are cached by segment content, bounded, identical to a cold scan, and
allowlists drop what the user has accepted."""

from __future__ import annotations

import hashlib
import threading
import tomllib
from pathlib import Path

import pytest

from egress_watch.classify.allowlist import build_allowlist
from egress_watch.classify.cache import FindingCache, content_key
from egress_watch.classify.engine import MIN_CACHED, Engine
from egress_watch.classify.secrets import SecretMatch, SecretScanner
from egress_watch.config.settings import parse_settings
from egress_watch.errors import ConfigError
from egress_watch.model import Finding, Segment
from tests.unit.test_secrets import AWS_ID, GHP

KEY = b"k" * 32
FILLER = "The retry loop backs off exponentially and logs each attempt.\n" * 8


class CountingScanner(SecretScanner):
    """The real scanner, counting the characters it is asked to scan."""

    def __init__(self) -> None:
        super().__init__()
        self.scanned = 0

    def scan(self, text: str, lowered: str | None = None) -> list[SecretMatch]:
        self.scanned += len(text)
        return super().scan(text, lowered)


@pytest.fixture(scope="module")
def scanner() -> SecretScanner:
    return SecretScanner()


def turn(n: int) -> str:
    return f"turn {n}: " + FILLER + (f"export GITHUB_TOKEN={GHP}\n" if n % 3 == 0 else "")


def test_a_growing_conversation_scans_each_message_once() -> None:
    scanner = CountingScanner()
    engine = Engine(KEY, scanner)
    messages = [Segment("user", turn(n)) for n in range(10)]
    for count in range(1, 11):
        engine.classify_segments(messages[:count])
    assert scanner.scanned == sum(len(m.text) for m in messages)


def test_cached_findings_equal_a_cold_scan_with_their_own_segment_index(
    scanner: SecretScanner,
) -> None:
    messages = [Segment("user", turn(n)) for n in range(7)]
    warm = Engine(KEY, scanner)
    warm.classify_segments(messages[:4])
    reordered = [messages[6], *messages]
    assert warm.classify_segments(reordered) == Engine(KEY, scanner).classify_segments(reordered)
    found = warm.classify_segments(reordered)
    assert {f.segment_index for f in found} == {0, 1, 4, 7}
    assert len({f.fingerprint for f in found}) == 1  # one secret, many sightings


def test_the_cache_is_bounded_in_bytes_and_evicts_the_least_recently_used() -> None:
    cache = FindingCache(max_bytes=1000)
    keys = [content_key(f"text {i}" * 100) for i in range(20)]
    for key in keys:
        cache.put(key, ())
    assert cache.size_bytes <= 1000
    assert cache.get(keys[-1]) == ()
    assert cache.get(keys[0]) is None
    with pytest.raises(ValueError, match="max_bytes"):
        FindingCache(-1)


def test_short_segments_are_not_cached(scanner: SecretScanner) -> None:
    engine = Engine(KEY, scanner)
    engine.classify_text("x" * (MIN_CACHED - 1))
    assert len(engine.cache) == 0
    engine.classify_text("x" * MIN_CACHED)
    assert len(engine.cache) == 1


def test_one_engine_is_safe_to_share_between_threads(scanner: SecretScanner) -> None:
    engine = Engine(KEY, scanner, cache=FindingCache(max_bytes=2000))
    messages = [Segment("user", turn(n)) for n in range(12)]
    expected = Engine(KEY, scanner).classify_segments(messages)
    results: list[list[Finding]] = []

    def work() -> None:
        results.extend(engine.classify_segments(messages) for _ in range(5))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [expected] * 20


# --- allowlists ----------------------------------------------------------------------------------

TEXT = f'aws_access_key_id = "{AWS_ID}"\nexport GITHUB_TOKEN={GHP}\n'


def rules_found(engine: Engine, path: str | None = None) -> list[str]:
    return [f.rule for f in engine.classify_text(TEXT, path=path)]


def test_allowlist_by_fingerprint_rule_and_value_pattern(scanner: SecretScanner) -> None:
    plain = Engine(KEY, scanner)
    assert rules_found(plain) == ["aws-access-key", "github-token"]
    github_fp = plain.classify_text(TEXT)[1].fingerprint
    by_fp = Engine(KEY, scanner, build_allowlist(fingerprints=[github_fp]))
    assert rules_found(by_fp) == ["aws-access-key"]
    by_rule = Engine(KEY, scanner, build_allowlist(rules=["aws-access-key"]))
    assert rules_found(by_rule) == ["github-token"]
    by_value = Engine(KEY, scanner, build_allowlist(values=["^AKIA"]))
    assert rules_found(by_value) == ["github-token"]


def test_allowlist_by_path_applies_only_to_segments_from_that_path(
    scanner: SecretScanner,
) -> None:
    engine = Engine(KEY, scanner, build_allowlist(paths=["tests/fixtures/*"]))
    assert rules_found(engine, "tests/fixtures/creds.env") == []
    assert rules_found(engine, "src/settings.py") == ["aws-access-key", "github-token"]
    assert rules_found(engine) == ["aws-access-key", "github-token"]


def test_detect_secrets_baseline_hashes_allow_those_values(
    tmp_path: Path, scanner: SecretScanner
) -> None:
    sha1 = hashlib.sha1(GHP.encode()).hexdigest()  # noqa: S324 - detect-secrets' own format
    baseline = tmp_path / ".secrets.baseline"
    baseline.write_text(
        '{"version": "1.5.0", "results": {"ci.sh": [{"type": "GitHub Token", '
        f'"filename": "ci.sh", "hashed_secret": "{sha1}", "line_number": 3}}]}}}}'
    )
    engine = Engine(KEY, scanner, build_allowlist(baselines=[baseline]))
    assert rules_found(engine) == ["aws-access-key"]


def test_gitleaksignore_allows_the_rule_in_that_file(
    tmp_path: Path, scanner: SecretScanner
) -> None:
    ignore = tmp_path / ".gitleaksignore"
    ignore.write_text(
        "# accepted\ncafe1234:deploy/ci.sh:github-pat:12\nconfig/aws.ini:aws-access-token:3\n"
    )
    engine = Engine(KEY, scanner, build_allowlist(baselines=[ignore]))
    assert rules_found(engine, "repo/deploy/ci.sh") == ["aws-access-key"]
    assert rules_found(engine, "config/aws.ini") == ["github-token"]
    assert rules_found(engine, "other.sh") == ["aws-access-key", "github-token"]


def test_inline_allowlist_pragmas_in_outgoing_text_are_not_honoured(
    scanner: SecretScanner,
) -> None:
    text = f"export GITHUB_TOKEN={GHP}  # pragma: allowlist secret\n"
    assert [f.rule for f in Engine(KEY, scanner).classify_text(text)] == ["github-token"]


def test_the_allowlist_section_of_config_toml_reaches_the_engine(tmp_path: Path) -> None:
    sha1 = hashlib.sha1(GHP.encode()).hexdigest()  # noqa: S324 - detect-secrets' own format
    (tmp_path / "baselines").mkdir()
    (tmp_path / "baselines" / ".secrets.baseline").write_text(
        f'{{"results": {{"a": [{{"hashed_secret": "{sha1}"}}]}}}}'
    )
    document = tomllib.loads(
        "[allowlist]\n"
        'rules = ["jwt"]\n'
        'values = ["^AKIA"]\n'
        'baselines = ["baselines/.secrets.baseline"]\n'
    )
    engine = Engine.configured(KEY, parse_settings(document, "config.toml"), tmp_path)
    assert rules_found(engine) == []


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ('values = ["("]', "allowlist value pattern"),
        ('baselines = ["missing.baseline"]', "cannot read"),
    ],
)
def test_a_bad_allowlist_is_a_config_error(tmp_path: Path, section: str, message: str) -> None:
    settings = parse_settings(tomllib.loads("[allowlist]\n" + section), "config.toml")
    with pytest.raises(ConfigError, match=message):
        Engine.configured(KEY, settings, tmp_path)


def test_allowlist_keys_must_be_lists_of_strings() -> None:
    with pytest.raises(ConfigError, match=r"allowlist\.rules"):
        parse_settings({"allowlist": {"rules": "jwt"}}, "config.toml")


def test_confidence_reflects_how_a_secret_was_recognised() -> None:
    from egress_watch.classify.engine import Engine

    engine = Engine(b"k" * 32)
    key_id = "AKIA" + "Q3EXT7PLN2ZRW5YB"
    findings = engine.classify_text(f"aws_key = {key_id}\nDB_PASSWORD=hunter2-" + "blue\n")
    by_rule = {f.rule: f.confidence for f in findings}
    assert by_rule["aws-access-key"] == "high"
    assert by_rule["secret-assignment"] == "medium"

"""Config: defaults, a commented first-run file, and errors that name file, key and problem."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from egress_watch.config.defaults import DEFAULT_CONFIG
from egress_watch.config.settings import Settings, load_settings, parse_settings
from egress_watch.errors import ConfigError
from egress_watch.model import FailMode, Mode, Severity
from egress_watch.paths import HomePaths, resolve_home
from egress_watch.workstation.home import load_hmac_key, prepare_home


def test_default_config_file_parses_to_the_defaults() -> None:
    assert parse_settings(tomllib.loads(DEFAULT_CONFIG), "config.toml") == Settings()


def test_first_run_writes_private_commented_config_and_key(tmp_path: Path) -> None:
    paths = HomePaths(tmp_path / "home")
    prepare_home(paths)
    assert paths.home.stat().st_mode & 0o777 == 0o700
    assert paths.config.stat().st_mode & 0o777 == 0o600
    assert paths.hmac_key.stat().st_mode & 0o777 == 0o600
    assert "# " in paths.config.read_text()
    key = load_hmac_key(paths)
    prepare_home(paths)  # second run keeps the key: fingerprints stay stable
    assert load_hmac_key(paths) == key


def test_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    paths = HomePaths(tmp_path)
    prepare_home(paths)
    paths.hmac_key.chmod(0o644)
    with pytest.raises(ConfigError, match="readable by others"):
        load_hmac_key(paths)


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[proxy]\nlisten_port = 'abc'", r"proxy\.listen_port: expected a port number"),
        ("[proxy]\nlisten_port = 70000", r"proxy\.listen_port: expected a port number"),
        ("[proxy]\nmode = 'loud'", r"proxy\.mode: expected one of monitor, redact, block"),
        ("[proxy]\nlisten_prot = 1", r"unknown key proxy\.listen_prot"),
        ("[proxyy]\n", r"unknown section \[proxyy\]"),
        ("[proxy]\nupstream_proxy = 'ftp://x'", r"proxy\.upstream_proxy: expected an http"),
        ("[proxy]\nblock_severity = 'huge'", r"proxy\.block_severity: unknown severity"),
        ("[proxy]\nlisten_host = 'my laptop'", r"proxy\.listen_host: expected an IP address"),
        ("[proxy\n", r"not valid TOML"),
    ],
)
def test_bad_config_names_file_key_and_problem(tmp_path: Path, toml: str, message: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError, match=message) as caught:
        load_settings(path)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"[proxy]\nlisten_port = 80 80\n", r"not valid TOML: key proxy\.listen_port: .*line 2"),
        (b'[markers]\nwords = ["Caf\xe9"]\n', r"key markers\.words, line 2, column 14: byte 0xe9"),
        (b'[[services]]\nid = "x\xff"\n', r"key services\.id, line 2, column 8: byte 0xff"),
        (b"\xfe[proxy]\n", r"line 1, column 1: byte 0xfe is not UTF-8 text"),
        (b"# caf\xe9\n", r"line 1, column 6: byte 0xe9 is not UTF-8"),
    ],
)
def test_unreadable_config_names_file_line_key_and_problem(
    tmp_path: Path, data: bytes, message: str
) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(data)
    with pytest.raises(ConfigError, match=message) as caught:
        load_settings(path)
    assert str(caught.value).startswith(f"{path}: ")


def test_values_are_read() -> None:
    settings = parse_settings(
        {"proxy": {"listen_port": 9999, "mode": "block", "block_severity": "critical"}}, "x"
    )
    assert (settings.listen_port, settings.mode, settings.block_severity) == (
        9999,
        Mode.BLOCK,
        Severity.CRITICAL,
    )


@pytest.mark.parametrize(
    ("mode", "explicit", "expected"),
    [
        (Mode.MONITOR, None, FailMode.OPEN),
        (Mode.BLOCK, None, FailMode.CLOSED),
        (Mode.BLOCK, FailMode.OPEN, FailMode.OPEN),
    ],
)
def test_fail_mode_follows_mode_unless_set(
    mode: Mode, explicit: FailMode | None, expected: FailMode
) -> None:
    assert Settings(mode=mode, fail_mode_setting=explicit).fail_mode is expected


def test_home_resolution_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EGRESS_WATCH_HOME", str(tmp_path / "env"))
    assert resolve_home(tmp_path / "flag") == tmp_path / "flag"
    assert resolve_home(None) == tmp_path / "env"
    monkeypatch.delenv("EGRESS_WATCH_HOME")
    assert resolve_home(None).name == "egress-watch"

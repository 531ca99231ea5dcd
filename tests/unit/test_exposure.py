"""Safe defaults: the proxy stays on loopback unless told otherwise, and every folder the daemon
creates is private (0700) whatever the umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from egress_watch.capture.listen import check_listen_host, is_loopback, remote_warning
from egress_watch.cli.main import cli
from egress_watch.config.export_sinks import SinkConfig
from egress_watch.errors import ConfigError
from egress_watch.export.files import FileSink
from egress_watch.export.sink import Record
from egress_watch.paths import HomePaths
from egress_watch.workstation.home import prepare_home

ANY = "0.0.0.0"  # noqa: S104 - the address under test, never bound here


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The umask most desktops use: new folders would be 0755 unless made private on purpose."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("localhost", True),
        (ANY, False),
        ("::", False),
        ("192.168.1.5", False),
    ],
)
def test_only_loopback_is_allowed_without_the_flag(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
    assert (remote_warning(host, 8080) is None) is loopback
    if loopback:
        check_listen_host(host, allow_remote=False)
    else:
        with pytest.raises(ConfigError, match="--allow-remote"):
            check_listen_host(host, allow_remote=False)
        check_listen_host(host, allow_remote=True)


def test_start_beyond_loopback_needs_allow_remote_and_warns(ew_home: HomePaths) -> None:
    runner = CliRunner()
    refused = runner.invoke(cli, ["start", "--foreground", "--listen-host", ANY])
    assert refused.exit_code == 2
    assert f"proxy.listen_host: {ANY}" in refused.stderr
    assert "--allow-remote" in refused.stderr
    sneaky = runner.invoke(cli, ["start", "--foreground", "--set", f"listen_host={ANY}"])
    assert sneaky.exit_code == 2
    ew_home.config.write_text(f'[proxy]\nlisten_host = "{ANY}"\n')
    from_config = runner.invoke(cli, ["start", "--foreground"])
    assert from_config.exit_code == 2
    assert "allow_remote = true" in from_config.stderr


def test_allowed_remote_listening_names_what_it_exposes() -> None:
    warning = remote_warning(ANY, 8080)
    assert warning is not None
    assert f"{ANY}:8080" in warning
    assert "relay" in warning
    assert "decrypted" in warning


@pytest.mark.usefixtures("loose_umask")
def test_the_export_folder_and_its_parents_are_created_private(tmp_path: Path) -> None:
    path = tmp_path / "exports" / "siem" / "events.jsonl"
    sink = FileSink(SinkConfig(name="f", kind="file", path=str(path)))
    sink.send([Record(1, "u-1", "2026-11-27T10:00:00+00:00", None, {"n": 1})])
    assert mode(tmp_path / "exports") == 0o700
    assert mode(tmp_path / "exports" / "siem") == 0o700
    assert mode(path) == 0o600


@pytest.mark.usefixtures("loose_umask")
def test_a_new_home_and_its_parents_are_private(tmp_path: Path) -> None:
    paths = HomePaths(tmp_path / "xdg" / "share" / "egress-watch")
    prepare_home(paths)
    for folder in (tmp_path / "xdg", tmp_path / "xdg" / "share", paths.home):
        assert mode(folder) == 0o700, folder

"""Service templates: pure renderers, snapshots in install/, and systemd's own verifier."""

from __future__ import annotations

import os
import plistlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from egress_watch.paths import HomePaths
from egress_watch.workstation import install

ROOT = Path(__file__).parents[2]
PLACEHOLDERS = (["@EXECUTABLE@"], "@HOME@")


@pytest.mark.parametrize(
    ("name", "render"),
    [
        ("egress-watch.service.in", lambda: install.render_systemd_service(*PLACEHOLDERS)),
        ("egress-watch-report.service.in", lambda: install.render_report_service(*PLACEHOLDERS)),
        ("egress-watch-report.timer.in", install.render_report_timer),
        ("dev.egress-watch.daemon.plist.in", lambda: install.render_launchd_agent(*PLACEHOLDERS)),
        ("dev.egress-watch.report.plist.in", lambda: install.render_launchd_report(*PLACEHOLDERS)),
    ],
)
def test_install_folder_holds_the_renderers_output(name: str, render) -> None:
    assert (ROOT / "install" / name).read_text() == render()


@pytest.mark.parametrize(
    ("arg", "quoted"),
    [
        ("/usr/bin/egress-watch", "/usr/bin/egress-watch"),
        ("/home/a b/ew", '"/home/a b/ew"'),
        ("/x/100%", '"/x/100%%"'),
        ("$HOME", '"$$HOME"'),
        ('say "hi"', '"say \\"hi\\""'),
    ],
)
def test_systemd_quote(arg: str, quoted: str) -> None:
    assert install.systemd_quote(arg) == quoted


def test_unit_restarts_on_failure_and_reloads_with_sighup() -> None:
    unit = install.render_systemd_service(["/opt/ew/bin/egress-watch"], "/home/u/.local/share/ew")
    assert (
        "ExecStart=/opt/ew/bin/egress-watch --home /home/u/.local/share/ew start --foreground"
        in unit
    )
    assert "Restart=on-failure" in unit
    assert "ExecReload=/bin/kill -HUP $MAINPID" in unit
    assert "WantedBy=default.target" in unit


def test_launchd_agents_are_valid_plists_with_the_arguments_unquoted() -> None:
    home = "/Users/u/Library/Application Support/egress-watch"
    agent = plistlib.loads(install.render_launchd_agent(["/opt/ew/egress-watch"], home).encode())
    assert agent["ProgramArguments"] == [
        "/opt/ew/egress-watch",
        "--home",
        home,
        "start",
        "--foreground",
    ]
    assert agent["KeepAlive"] == {"SuccessfulExit": False}
    assert agent["RunAtLoad"] is True
    report = plistlib.loads(install.render_launchd_report(["ew"], home).encode())
    assert report["ProgramArguments"][-3:] == ["--output", f"{home}/reports/weekly.md", "--notify"]
    assert report["StartCalendarInterval"] == {"Weekday": 1, "Hour": 9, "Minute": 0}


def test_write_then_remove_leaves_nothing_behind(tmp_path: Path, ew_home: HomePaths) -> None:
    ew_home.home.mkdir()
    layout = install.Layout("linux", tmp_path / "systemd" / "user")
    written = install.write_files(ew_home, layout, ["/bin/egress-watch"])
    assert sorted(p.name for p in written) == sorted(
        [install.SERVICE, install.REPORT_SERVICE, install.REPORT_TIMER]
    )
    assert (ew_home.home / "reports").is_dir()
    assert install.remove_files(ew_home, layout) == written
    assert list(layout.directory.iterdir()) == []
    assert not install.record_path(ew_home).exists()


def test_enable_is_a_separate_user_level_step() -> None:
    layout = install.Layout("linux", Path("/x"))
    assert layout.enable_commands()[-1] == [
        "systemctl",
        "--user",
        "enable",
        "--now",
        install.SERVICE,
        install.REPORT_TIMER,
    ]
    assert all("sudo" not in c for c in layout.enable_commands() + layout.disable_commands())


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_systemd_analyze_verifies_the_rendered_units(tmp_path: Path) -> None:
    """Real executable and home, as `install` would write them; --user needs a runtime dir."""
    units = tmp_path / "units"
    units.mkdir()
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    command = [sys.executable, "-m", "egress_watch"]
    home = str(tmp_path / "home with space")
    for name, text in install.Layout("linux", units).files(command, home).items():
        (units / name).write_text(text)
    result = subprocess.run(
        ["systemd-analyze", "--user", "verify", *sorted(str(p) for p in units.iterdir())],
        capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "XDG_RUNTIME_DIR": str(runtime)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_systemd_analyze_catches_a_broken_unit(tmp_path: Path) -> None:
    """The verifier above can fail: a unit naming a missing program is rejected."""
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    unit = tmp_path / install.SERVICE
    unit.write_text(install.render_systemd_service(["/nonexistent/egress-watch"], "/h"))
    result = subprocess.run(
        ["systemd-analyze", "--user", "verify", str(unit)],
        capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "XDG_RUNTIME_DIR": str(runtime)},
    )  # fmt: skip
    assert result.returncode != 0
    assert "/nonexistent/egress-watch" in result.stderr


def test_install_and_uninstall_commands(
    tmp_path: Path, ew_home: HomePaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from egress_watch.cli.main import cli

    if not sys.platform.startswith("linux"):
        pytest.skip("exercises the systemd layout")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    units = tmp_path / "config" / "systemd" / "user"
    result = CliRunner().invoke(cli, ["install", "--no-enable"], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in units.iterdir()) == sorted(
        [install.SERVICE, install.REPORT_SERVICE, install.REPORT_TIMER]
    )
    assert f"--home {ew_home.home} start --foreground" in (units / install.SERVICE).read_text()
    assert "systemctl --user enable --now egress-watch.service" in result.stderr
    result = CliRunner().invoke(cli, ["uninstall", "--files-only"], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    assert list(units.iterdir()) == []


def test_install_without_a_user_session_says_what_to_run(
    tmp_path: Path, ew_home: HomePaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Here (a container, no systemd user manager) enabling fails; the files stay, with the step."""
    from click.testing import CliRunner

    from egress_watch.cli.main import cli

    if not sys.platform.startswith("linux"):
        pytest.skip("exercises the systemd layout")
    probe = subprocess.run(["systemctl", "--user", "show-environment"], capture_output=True,
                           check=False) if shutil.which("systemctl") else None  # fmt: skip
    if probe is not None and probe.returncode == 0:
        pytest.skip("a systemd user session is running: enabling would really happen")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    result = CliRunner().invoke(cli, ["install"], catch_exceptions=False)
    assert result.exit_code == 1
    assert "service files are in place but could not be enabled" in result.stderr
    assert "systemctl --user enable --now egress-watch.service" in result.stderr
    assert (tmp_path / "config" / "systemd" / "user" / install.SERVICE).exists()

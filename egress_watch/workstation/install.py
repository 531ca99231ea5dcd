"""Per-user service: systemd user units on Linux, launchd agents on macOS; no sudo anywhere.

The renderers are pure (snapshot-tested; ``install/`` holds their output for placeholder
arguments). The edge writes the files, records them, and enables them as a separate step,
since enabling needs a user session (``systemctl --user``) or a GUI login (``launchctl``).
"""

from __future__ import annotations

import json
import os
import plistlib
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from egress_watch.errors import EgressWatchError
from egress_watch.paths import HomePaths

SERVICE = "egress-watch.service"
REPORT_SERVICE = "egress-watch-report.service"
REPORT_TIMER = "egress-watch-report.timer"
AGENT_LABEL = "dev.egress-watch.daemon"
REPORT_LABEL = "dev.egress-watch.report"
LOG_ENV = "EGRESS_WATCH_DAEMON_LOG"  # same name as daemon.LOG_ENV, without importing the daemon
_SYSTEMD_PLAIN = re.compile(r"[A-Za-z0-9_./:@+=,-]+")


class InstallError(EgressWatchError):
    """The service could not be installed, enabled or removed."""


def systemd_quote(arg: str) -> str:
    """Quote one ExecStart argument: specifiers (%) and variables ($) are escaped too."""
    escaped = arg.replace("%", "%%").replace("$", "$$")
    if _SYSTEMD_PLAIN.fullmatch(escaped):
        return escaped
    return '"' + escaped.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _exec(command: Sequence[str], home: str, *args: str) -> str:
    return " ".join(systemd_quote(a) for a in (*command, "--home", home, *args))


def report_output(home: str) -> str:
    """Where the weekly report is written (overwritten each week)."""
    return f"{home}/reports/weekly.md"


def report_arguments(home: str) -> list[str]:
    """The weekly job's command after ``--home``: a Markdown report, then a desktop notice."""
    return [
        "report",
        "--since",
        "7d",
        "--format",
        "md",
        "--output",
        report_output(home),
        "--notify",
    ]


def render_systemd_service(command: Sequence[str], home: str) -> str:
    """The daemon's user unit: starts at login, restarts on failure, SIGHUP reloads config."""
    return f"""\
# egress-watch daemon (systemd user unit), written by `egress-watch install`.
[Unit]
Description=egress-watch: AI coding traffic monitor (local proxy)
Documentation=https://pypi.org/project/egress-watch/
After=network-online.target

[Service]
Type=simple
ExecStart={_exec(command, home, "start", "--foreground")}
ExecReload=/bin/kill -HUP $MAINPID
Restart=on-failure
RestartSec=2
UMask=0077
NoNewPrivileges=yes

[Install]
WantedBy=default.target
"""


def render_report_service(command: Sequence[str], home: str) -> str:
    """The weekly report job (a oneshot started by the timer)."""
    report = _exec(command, home, *report_arguments(home))
    return f"""\
# egress-watch weekly exposure report (systemd user unit), written by `egress-watch install`.
[Unit]
Description=egress-watch: weekly exposure report

[Service]
Type=oneshot
ExecStart={report}
UMask=0077
"""


def render_report_timer() -> str:
    """Runs the report weekly; a missed run (machine off) happens at the next boot."""
    return """\
# egress-watch weekly report timer (systemd user unit), written by `egress-watch install`.
[Unit]
Description=egress-watch: weekly exposure report

[Timer]
OnCalendar=weekly
Persistent=true
RandomizedDelaySec=1h

[Install]
WantedBy=timers.target
"""


def render_launchd_agent(command: Sequence[str], home: str) -> str:
    """The daemon's LaunchAgent: starts at login, restarted by launchd when it fails."""
    plist = {
        "Label": AGENT_LABEL,
        "ProgramArguments": [*command, "--home", home, "start", "--foreground"],
        "RunAtLoad": True,
        "KeepAlive": {"SuccessfulExit": False},
        "ProcessType": "Background",
        "Umask": 0o077,
        "EnvironmentVariables": {LOG_ENV: f"{home}/daemon.log"},
        "StandardOutPath": f"{home}/launchd.log",
        "StandardErrorPath": f"{home}/launchd.log",
    }
    return plistlib.dumps(plist, sort_keys=False).decode()


def render_launchd_report(command: Sequence[str], home: str) -> str:
    """The weekly report as a LaunchAgent: Mondays 09:00; launchd runs a missed one at wake."""
    plist = {
        "Label": REPORT_LABEL,
        "ProgramArguments": [*command, "--home", home, *report_arguments(home)],
        "StartCalendarInterval": {"Weekday": 1, "Hour": 9, "Minute": 0},
        "Umask": 0o077,
        "StandardErrorPath": f"{home}/launchd.log",
    }
    return plistlib.dumps(plist, sort_keys=False).decode()


@dataclass(frozen=True, slots=True)
class Layout:
    """Where the service files go on this platform, and how to (un)load them."""

    platform: str
    directory: Path

    def files(self, command: Sequence[str], home: str) -> dict[str, str]:
        """File name -> contents for this platform."""
        if self.platform == "darwin":
            return {
                f"{AGENT_LABEL}.plist": render_launchd_agent(command, home),
                f"{REPORT_LABEL}.plist": render_launchd_report(command, home),
            }
        return {
            SERVICE: render_systemd_service(command, home),
            REPORT_SERVICE: render_report_service(command, home),
            REPORT_TIMER: render_report_timer(),
        }

    def enable_commands(self) -> list[list[str]]:
        if self.platform == "darwin":
            domain = f"gui/{os.getuid()}"
            return [["launchctl", "bootstrap", domain, str(self.directory / f"{label}.plist")]
                    for label in (AGENT_LABEL, REPORT_LABEL)]  # fmt: skip
        return [["systemctl", "--user", "daemon-reload"],
                ["systemctl", "--user", "enable", "--now", SERVICE, REPORT_TIMER]]  # fmt: skip

    def disable_commands(self) -> list[list[str]]:
        if self.platform == "darwin":
            domain = f"gui/{os.getuid()}"
            return [["launchctl", "bootout", f"{domain}/{label}"]
                    for label in (AGENT_LABEL, REPORT_LABEL)]  # fmt: skip
        return [["systemctl", "--user", "disable", "--now", SERVICE, REPORT_TIMER]]


def default_layout(platform: str | None = None) -> Layout:
    """systemd user directory on Linux (honours $XDG_CONFIG_HOME), LaunchAgents on macOS."""
    platform = platform or sys.platform
    if platform == "darwin":
        return Layout(platform, Path.home() / "Library" / "LaunchAgents")
    if not platform.startswith("linux"):
        raise InstallError(f"no per-user service support on {platform}; run `egress-watch start`")
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Layout(platform, Path(config) / "systemd" / "user")


def service_command() -> list[str]:
    """How the service starts egress-watch: this environment's console script, else ``-m``."""
    script = Path(sys.executable).parent / "egress-watch"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "egress_watch"]


def record_path(paths: HomePaths) -> Path:
    return paths.home / "install.json"


def write_files(paths: HomePaths, layout: Layout, command: Sequence[str]) -> list[Path]:
    """Write the service files and remember them for ``uninstall``."""
    layout.directory.mkdir(parents=True, exist_ok=True)
    (paths.home / "reports").mkdir(mode=0o700, exist_ok=True)
    written = []
    for name, text in layout.files(command, str(paths.home)).items():
        target = layout.directory / name
        target.write_text(text)
        written.append(target)
    record = {"platform": layout.platform, "files": [str(p) for p in written]}
    record_path(paths).write_text(json.dumps(record, indent=1) + "\n")
    return written


def remove_files(paths: HomePaths, layout: Layout) -> list[Path]:
    """Remove what ``install`` wrote (from its record, else the known names)."""
    try:
        names = [Path(p) for p in json.loads(record_path(paths).read_text())["files"]]
    except (OSError, ValueError, KeyError, TypeError):
        names = [layout.directory / n for n in layout.files(["egress-watch"], "")]
    removed = [p for p in names if p.exists()]
    for path in removed:
        path.unlink()
    record_path(paths).unlink(missing_ok=True)
    return removed


def run_commands(commands: list[list[str]], tolerate_failure: bool = False) -> list[str]:
    """Run service-manager commands; returns the problems (raises unless tolerated)."""
    problems = []
    for command in commands:
        if shutil.which(command[0]) is None:
            problems.append(f"{command[0]} not found")
            break
        result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
        if result.returncode != 0:
            problems.append(f"`{' '.join(command)}`: {result.stderr.strip()[-300:]}")
            if not tolerate_failure:
                break
    if problems and not tolerate_failure:
        raise InstallError("; ".join(problems))
    return problems

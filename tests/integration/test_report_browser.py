"""The HTML report in a real headless browser (Debian's chromium): no console error, fits a phone,
prints to PDF, and a screenshot kept as a test artifact.

CI installs chromium (`apt-get install -y chromium`); without it these tests skip with that reason.
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from egress_watch.cli.main import cli
from egress_watch.paths import HomePaths
from tests.support.report_seed import PLANTED, WEEK, seed_week

CHROMIUM = shutil.which("chromium")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium)"
    ),
]
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
    "--enable-logging=stderr", "--v=0",
)  # fmt: skip
PROBE = (
    "<script>const wide = Math.max(0, ...[...document.querySelectorAll('.scroll')]"
    ".map(e => e.scrollWidth - e.clientWidth));"
    "document.body.insertAdjacentHTML('beforeend', '<pre id=\"probe\">' +"
    " document.documentElement.scrollWidth + 'x' + window.innerWidth + 'x' + wide + '</pre>')"
    "</script>"
)


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """One headless run with a private profile; bounded in time."""
    assert CHROMIUM is not None
    profile = tmp_path / "chromium-profile"
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=90, check=False,
    )  # fmt: skip


def console_problems(stderr: str) -> list[str]:
    """Console messages and load failures the page caused (chromium logs them on stderr)."""
    return [
        line
        for line in stderr.splitlines()
        if ":CONSOLE" in line or "Uncaught" in line or "Failed to load resource" in line
    ]


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.fixture
def week_html(ew_home: HomePaths, tmp_path: Path) -> Path:
    seed_week(ew_home)
    target = tmp_path / "week.html"
    result = CliRunner().invoke(
        cli,
        [
            "report",
            "--from",
            WEEK[0],
            "--to",
            WEEK[1],
            "--format",
            "html",
            "--output",
            str(target),
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0
    return target


def test_the_console_check_catches_a_broken_page(tmp_path: Path) -> None:
    """The detector below is real: a page with a script error is caught."""
    broken = tmp_path / "broken.html"
    broken.write_text("<!doctype html><p>x</p><script>missing_function()</script>")
    result = chromium(tmp_path, "--dump-dom", broken.as_uri())
    assert any("Uncaught" in line for line in console_problems(result.stderr))


def test_report_renders_without_console_errors_and_leaves_a_screenshot(
    week_html: Path, tmp_path: Path
) -> None:
    dom = chromium(tmp_path, "--dump-dom", week_html.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert console_problems(dom.stderr) == []
    assert "Requests inspected" in dom.stdout
    assert "openai-project-key" in dom.stdout
    for value in PLANTED:
        assert value not in dom.stdout
    screenshot = tmp_path / "report-desktop.png"
    shot = chromium(tmp_path, "--window-size=1100,3200", f"--screenshot={screenshot}",
                    week_html.as_uri())  # fmt: skip
    assert shot.returncode == 0, shot.stderr[-2000:]
    assert console_problems(shot.stderr) == []
    assert png_size(screenshot) == (1100, 3200)
    assert screenshot.stat().st_size > 50_000  # a rendered page, not a blank one


def test_report_fits_a_phone_screen(week_html: Path, tmp_path: Path) -> None:
    """At a phone's width nothing scrolls sideways, not even a table: wide ones become cards.

    (Headless chromium lays out ``--dump-dom`` at no less than 500 px, still a phone layout.)
    """
    probed = tmp_path / "probed.html"
    probed.write_text(week_html.read_text().replace("</body>", PROBE + "</body>"))
    result = chromium(tmp_path, "--window-size=390,844", "--dump-dom", probed.as_uri())
    assert console_problems(result.stderr) == []
    match = re.search(r'<pre id="probe">(\d+)x(\d+)x(\d+)</pre>', result.stdout)
    assert match, result.stdout[-500:]
    page_width, viewport, table_overflow = int(match[1]), int(match[2]), int(match[3])
    assert viewport <= 500
    assert page_width <= viewport
    assert table_overflow == 0  # no table needs a sideways scroll either
    phone = tmp_path / "report-phone.png"
    chromium(tmp_path, "--window-size=390,1600", f"--screenshot={phone}", week_html.as_uri())
    assert png_size(phone) == (390, 1600)


def test_report_prints_to_pdf(week_html: Path, tmp_path: Path) -> None:
    pdf = tmp_path / "report.pdf"
    result = chromium(tmp_path, "--no-pdf-header-footer", f"--print-to-pdf={pdf}",
                      week_html.as_uri())  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert pdf.read_bytes()[:5] == b"%PDF-"
    assert pdf.stat().st_size > 20_000

"""The public background: every installed source of a supported language, built once per
machine; a JDK's ``src.zip`` read as Java; test-code idioms of installed public code learned as
common while the user's own code still alerts.

Real files (installed public code where it is needed), real zips, real SQLite.
"""

from __future__ import annotations

import os
import shutil
import sys
import zipfile
from pathlib import Path

import pytest

from egress_watch.classify.proprietary.background import build_background, describe_background
from egress_watch.classify.proprietary.files import archive_candidates
from egress_watch.classify.proprietary.index import open_index
from egress_watch.classify.proprietary.matcher import Matcher
from egress_watch.classify.proprietary.repos import add_repo
from egress_watch.classify.proprietary.sources import (
    BACKGROUND_ENV,
    default_background,
    installed_public_code,
    jdk_version,
    public_files,
    python_stdlib,
    version_in_path,
)
from tests.support.own_code import own_source

SHARED = "\n".join(own_source("pipeline.py").read_text().split("\n")[29:54])
"""Code found in two public files below: common, so it never alerts."""


def _zip(path: Path, members: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return path


# 1. Sources: the JDK's src.zip, the newest of each, the Go compiler left out -----------------


def test_a_jdk_src_zip_gives_the_java_of_its_java_modules_only(tmp_path: Path) -> None:
    java = "class A {\n  int twice(int x) {\n    return x * 2;\n  }\n}\n"
    archive = _zip(
        tmp_path / "src.zip",
        {
            "java.base/java/util/A.java": java,
            "java.base/java/util/B.java": java.replace("class A", "class B"),
            "java.base/java/util/package.html": "<p>docs</p>",
            "java.base/java/util/testdata/T.java": java,
            "jdk.localedata/sun/text/L.java": java,
        },
    )
    listed = list(archive_candidates(archive))
    assert [f.member for f in listed] == [
        "java.base/java/util/A.java",
        "java.base/java/util/B.java",
    ]
    assert listed[0].read().decode() == java
    conn = open_index(tmp_path / "code-index.db")
    info = build_background(conn, [archive])
    conn.close()
    assert (info.files, info.sources) == (2, [str(archive.resolve())])
    assert info.hashes > 10  # the method both classes share is common
    assert list(archive_candidates(tmp_path / "code-index.db")) == []  # not a zip: nothing


def test_the_newest_go_and_jdk_are_chosen_by_version_not_by_name() -> None:
    assert version_in_path(Path("/usr/share/go-1.19/src")) > version_in_path(
        Path("/usr/share/go-1.9/src")
    )
    assert jdk_version(Path("/nowhere/java-17-openjdk/lib/src.zip")) == (17,)


def test_a_jdk_version_comes_from_its_release_file(tmp_path: Path) -> None:
    for name, version in (("temurin-25-jdk", "25.0.3"), ("java-1.17.0-openjdk", "17.0.15")):
        (tmp_path / name / "lib").mkdir(parents=True)
        (tmp_path / name / "release").write_text(f'IMPLEMENTOR="x"\nJAVA_VERSION="{version}"\n')
    assert jdk_version(tmp_path / "temurin-25-jdk/lib/src.zip") == (25, 0, 3)
    assert jdk_version(tmp_path / "java-1.17.0-openjdk/lib/src.zip") == (17, 0, 15)


def test_installed_public_code_holds_one_go_and_one_jdk_at_most() -> None:
    found = installed_public_code()
    assert len([p for p in found if p.name == "src.zip"]) <= 1
    go_distributions = [p for p in found if (p / "go.mod").is_file()
                        and (p / "go.mod").read_text().startswith("module std")]  # fmt: skip
    assert len(go_distributions) <= 1
    assert all(p.exists() for p in found)


def test_the_default_is_the_stdlib_and_installed_code_unless_the_environment_names_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(BACKGROUND_ENV)
    assert default_background() == [python_stdlib(), *installed_public_code()]
    monkeypatch.setenv(BACKGROUND_ENV, f"{tmp_path}{os.pathsep}{tmp_path / 'b'}")
    assert default_background() == [tmp_path, tmp_path / "b"]
    monkeypatch.setenv(BACKGROUND_ENV, "")
    assert default_background() == []


def test_a_go_distribution_is_read_without_its_compiler(tmp_path: Path) -> None:
    (tmp_path / "go.mod").write_text("module std\n\ngo 1.19\n")
    for path in ("cmd/compile/main.go", "strings/builder.go", "net/http/cmd/x.go"):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("package x\n")
    listed, _ = public_files(tmp_path)
    assert sorted(f.path.relative_to(tmp_path).as_posix() for f in listed) == [
        "net/http/cmd/x.go",  # only the top-level compiler is left out
        "strings/builder.go",
    ]


# 2. Bounded, excluded, counted once --------------------------------------------------------


def test_a_large_source_is_read_up_to_its_cap_sampled_across_it(tmp_path: Path) -> None:
    for folder in ("a", "m", "z"):
        (tmp_path / folder).mkdir()
        for number in range(10):
            (tmp_path / folder / f"f{number}.py").write_text(f"x{number} = 1\n" * 50)
    everything, whole = public_files(tmp_path, cap=10**9)
    sample, part = public_files(tmp_path, cap=whole.installed // 3)
    assert (whole.files, whole.installed) == (30, part.installed)
    assert part.bytes <= whole.installed // 3
    assert 8 <= part.files <= 10
    assert {f.path.parent.name for f in sample} == {"a", "m", "z"}  # spread, not the first files
    assert set(sample) < set(everything)


def test_excluded_folders_and_files_listed_twice_are_not_public(tmp_path: Path) -> None:
    public = tmp_path / "public"
    (public / "theirs").mkdir(parents=True)
    (public / "mine").mkdir()
    (public / "theirs" / "a.py").write_text(f"# a\n{SHARED}\n")
    (public / "mine" / "b.py").write_text(f"# b\n{SHARED}\n")  # the code the bench indexes
    conn = open_index(tmp_path / "one.db")
    alone = build_background(conn, [public], exclude=[public / "mine"])
    assert (alone.files, alone.hashes) == (1, 0)  # one file: nothing is common
    twice = build_background(conn, [public, public / "theirs"], exclude=[public / "mine"])
    conn.close()
    assert (twice.files, twice.hashes) == (1, 0)  # the same file through two sources: once
    assert [(p.files, p.installed > 0) for p in twice.parts] == [(1, True), (0, True)]


def test_the_cli_reports_sources_size_and_build_time_then_reuse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from egress_watch.cli.main import cli

    public = tmp_path / "public"
    public.mkdir()
    for name in ("a.py", "b.py"):
        (public / name).write_text(f"# {name}\n{SHARED}\n")
    monkeypatch.setenv(BACKGROUND_ENV, str(public))  # what a first `index add` builds
    repo = tmp_path / "repo"
    repo.mkdir()
    shutil.copy(own_source("policy.py"), repo / "rules.py")
    runner = CliRunner()
    first = runner.invoke(cli, ["index", "add", str(repo), "--home", str(tmp_path / "h1")])
    assert first.exit_code == 0, first.stderr
    assert "background: 2 files (" in first.stderr
    assert "; computed in " in first.stderr
    assert f"  {public.resolve()}: 2 files, " in first.stderr
    second = runner.invoke(cli, ["index", "add", str(repo), "--home", str(tmp_path / "h2")])
    assert "reused this machine's, computed in " in second.stderr  # built once per machine


# 3. Test-code idioms of installed public code are common; the user's own code alerts --------

GO_TEST = """package ledger

import "testing"

func TestRound(t *testing.T) {
\ttests := []struct {
\t\tname string
\t\tin   int
\t\twant int
\t}{
\t\t{"zero", 0, 0},
\t\t{"small", 7, 7},
\t}
\tfor _, tt := range tests {
\t\tt.Run(tt.name, func(t *testing.T) {
\t\t\tif got := Round(tt.in); got != tt.want {
\t\t\t\tt.Errorf("Round(%v) = %v, want %v", tt.in, got, tt.want)
\t\t\t}
\t\t})
\t}
}

func settleQuorum(cents int, quorum int) int {
\tpenalty := cents * 17 / 1000
\tif penalty > 4242 && quorum != 11 {
\t\tpenalty = 4242 - (cents % 13) + quorum*3
\t}
\treturn cents + penalty - driftOf(cents, penalty*3)
}
"""
PY_TEST = """import unittest


class LedgerTest(unittest.TestCase):
    def setUp(self):
        self.ledger = Ledger()

    def tearDown(self):
        self.ledger.close()

    def test_total(self):
        self.assertEqual(self.ledger.total(), 0)


def reconcile_with_quorum(ledgers, quorum):
    tally = sum((entry.weight * 7) % quorum for entry in ledgers)
    if tally > quorum * 3 and len(ledgers) != 11:
        return [f"{entry.id}:{tally}" for entry in ledgers if entry.weight % 5 == tally % 5]
    return [tally, quorum, len(ledgers) * 13]
"""


def _lines(text: str, first: int, last: int) -> str:
    return "\n".join(text.split("\n")[first - 1 : last]) + "\n"


def _installed_tests(root: Path | None, pattern: str, marker: str, count: int) -> list[Path]:
    """The first ``count`` installed public test files under ``root`` holding ``marker``."""
    if root is None or not root.is_dir():
        return []
    found = []
    for path in sorted(root.rglob(pattern)):
        if "cmd" not in path.relative_to(root).parts and marker in path.read_text(
            "utf-8", "replace"
        ):
            found.append(path)
            if len(found) == count:
                break
    return found


GO_SRC = next(iter(sorted(Path("/usr/share").glob("go-*/src"), key=version_in_path)[-1:]), None)
CASES = {
    # (installed public files, the user's file, its idiom lines, its own lines)
    "go table test": (
        lambda: _installed_tests(GO_SRC, "*_test.go", "for _, tt := range tests {", 30),
        ("ledger_test.go", GO_TEST),
        (14, 15),
        (23, 29),
    ),
    "python unittest": (
        lambda: _installed_tests(python_stdlib() / "test", "test_*.py", "def setUp(self):", 30),
        ("test_ledger.py", PY_TEST),
        (4, 6),
        (15, 19),
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_test_idioms_of_installed_public_code_are_common_own_code_alerts(
    case: str, tmp_path: Path
) -> None:
    installed, (name, text), idiom_lines, own_lines = CASES[case]
    files = installed()
    if len(files) < 2:
        pytest.skip(f"{case}: fewer than two installed public test files here ({sys.platform})")
    public = tmp_path / "public"
    public.mkdir()
    for number, path in enumerate(files):  # real installed files, copied as they are
        shutil.copy(path, public / f"{number}{path.suffix}")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / name).write_text(text)
    idiom, own = _lines(text, *idiom_lines), _lines(text, *own_lines)
    found = {}
    for label, roots in (("none", []), ("public", [public])):
        conn = open_index(tmp_path / f"{label}.db")
        info = build_background(conn, roots)
        add_repo(conn, repo, "ledger")
        conn.close()
        matcher = Matcher(tmp_path / f"{label}.db")
        found[label] = (
            [m.path for m in matcher.match(idiom)],
            [m.path for m in matcher.match(own)],
        )
    assert found["none"] == ([name], [name])  # without a background the idiom alerts too...
    assert found["public"] == ([], [name])  # ...with installed test code it is common
    assert "public code" in describe_background(info)

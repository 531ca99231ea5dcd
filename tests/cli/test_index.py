"""``egress-watch index`` and ``scan``: register a repository, then see its code flagged."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from egress_watch.cli.main import cli
from tests.support.own_code import own_source

PACKAGE = Path(__file__).parents[2] / "egress_watch"


def invoke(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def proprietary(scan_json: str) -> list[dict[str, Any]]:
    """The proprietary-code findings of a ``scan --json`` output."""
    findings: list[dict[str, Any]] = json.loads(scan_json)["findings"]
    return [f for f in findings if f["category"] == "proprietary"]


def test_index_add_list_scan_remove(tmp_path: Path) -> None:
    home = str(tmp_path / "home")
    repo = tmp_path / "billing"
    repo.mkdir()
    shutil.copy(own_source("policy.py"), repo / "rules.py")
    shutil.copy(own_source("pipeline.py"), repo / "flow.py")

    code, _, err = invoke("index", "add", str(repo), "--home", home)
    assert code == 0
    assert "billing: 2 files, 2 read" in err
    assert "MB/s over the add's " in err  # the rate is over the whole add, as the user waited
    assert "background ready for this index in " in err  # its one-time setup, timed apart
    assert (tmp_path / "home" / "code-index.db").stat().st_mode & 0o777 == 0o600

    code, out, _ = invoke("index", "list", "--json", "--home", home)
    [listed] = json.loads(out)
    assert (listed["name"], listed["files"]) == ("billing", 2)

    excerpt = "\n".join((repo / "flow.py").read_text().split("\n")[29:54])
    code, out, _ = invoke("scan", "--json", "-", "--home", home, input=excerpt)
    assert code == 1
    findings = proprietary(out)
    assert findings
    source = findings[0]["source"]
    assert (source["repo"], source["path"]) == ("billing", "flow.py")
    assert source["start_line"] <= 54
    assert source["end_line"] >= 30
    assert 0 < source["score"] <= 1
    assert max(excerpt.split("\n"), key=len).strip() not in out  # the code itself is never printed

    code, _, err = invoke("index", "rebuild", "--home", home)
    assert code == 0
    code, _, _ = invoke("index", "remove", "billing", "--home", home)
    assert code == 0
    code, out, _ = invoke("scan", "--json", "-", "--home", home, input=excerpt)
    assert not proprietary(out)


def test_index_errors_are_clear(tmp_path: Path) -> None:
    home = str(tmp_path / "home")
    code, out, _ = invoke("index", "list", "--home", home)
    assert code == 0
    assert "no repositories indexed" in out
    code, _, err = invoke("index", "remove", "nope", "--home", home)
    assert code == 1
    assert "no code index yet" in err
    invoke("index", "add", str(tmp_path), "--name", "empty", "--home", home)
    code, _, err = invoke("index", "rebuild", "missing", "--home", home)
    assert code == 1
    assert "no repository named 'missing'" in err


def test_rebuild_recovers_an_index_written_by_another_version(tmp_path: Path) -> None:
    home = str(tmp_path / "home")
    repo = tmp_path / "billing"
    repo.mkdir()
    shutil.copy(own_source("pipeline.py"), repo / "flow.py")
    public = tmp_path / "public"
    public.mkdir()
    code, _, err = invoke("index", "background", str(public), "--no-stdlib", "--home", home)
    assert code == 0
    assert "background: 0 files" in err
    assert invoke("index", "add", str(repo), "--home", home)[0] == 0
    excerpt = "\n".join((repo / "flow.py").read_text().split("\n")[29:54])

    db = tmp_path / "home" / "code-index.db"
    with sqlite3.connect(db) as conn:  # as if an older egress-watch or Python wrote it
        conn.execute("UPDATE meta SET value = '1-py3.11' WHERE key = 'format'")
    code, out, err = invoke("scan", "--json", "-", "--home", home, input=excerpt)
    assert "proprietary" not in out  # a foreign index is not trusted...
    code, _, err = invoke("index", "list", "--home", home)
    assert code == 1
    assert "run egress-watch index rebuild" in err  # ...and the user is told what to do

    code, _, err = invoke("index", "rebuild", "billing", "--home", home)
    assert code == 0, err
    assert "rebuilding every repository" in err
    code, out, _ = invoke("scan", "--json", "-", "--home", home, input=excerpt)
    [finding] = proprietary(out)
    assert finding["source"]["path"] == "flow.py"
    with sqlite3.connect(db) as conn:
        [(sources,)] = conn.execute("SELECT value FROM meta WHERE key = 'background'")
    assert json.loads(sources)["sources"] == [str(public.resolve())]  # the user's choice kept


def test_code_dropped_from_the_background_is_indexed_again(tmp_path: Path) -> None:
    home = str(tmp_path / "home")
    shared = "\n".join(own_source("pipeline.py").read_text().split("\n")[29:54])
    public = tmp_path / "public"
    public.mkdir()
    for name in ("a.py", "b.py"):  # public code: the excerpt is in two of its files
        (public / name).write_text(f"# {name}\n{shared}\n")
    repo = tmp_path / "billing"
    repo.mkdir()
    shutil.copy(own_source("pipeline.py"), repo / "flow.py")

    assert invoke("index", "background", str(public), "--no-stdlib", "--home", home)[0] == 0
    assert invoke("index", "add", str(repo), "--home", home)[0] == 0
    _, out, _ = invoke("scan", "--json", "-", "--home", home, input=shared)
    assert not proprietary(out)

    code, _, err = invoke("index", "background", "--no-stdlib", "--home", home)
    assert code == 0, err
    assert "re-indexing every repository" in err
    _, out, _ = invoke("scan", "--json", "-", "--home", home, input=shared)
    [finding] = proprietary(out)
    assert finding["source"]["path"] == "flow.py"

"""``egress-watch index`` and ``scan``: register a repository, then see its code flagged."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from egress_watch.cli import cli

PACKAGE = Path(__file__).parents[2] / "egress_watch"


def invoke(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_index_add_list_scan_remove(tmp_path: Path) -> None:
    home = str(tmp_path / "home")
    repo = tmp_path / "billing"
    repo.mkdir()
    shutil.copy(PACKAGE / "policy.py", repo / "rules.py")
    shutil.copy(PACKAGE / "pipeline.py", repo / "flow.py")

    code, _, err = invoke("index", "add", str(repo), "--home", home)
    assert code == 0
    assert "billing: 2 files, 2 read" in err
    assert (tmp_path / "home" / "code-index.db").stat().st_mode & 0o777 == 0o600

    code, out, _ = invoke("index", "list", "--json", "--home", home)
    [listed] = json.loads(out)
    assert (listed["name"], listed["files"]) == ("billing", 2)

    excerpt = "\n".join((repo / "flow.py").read_text().split("\n")[29:54])
    code, out, _ = invoke("scan", "--json", "-", "--home", home, input=excerpt)
    assert code == 1
    findings = [f for f in json.loads(out)["findings"] if f["category"] == "proprietary"]
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
    assert not [f for f in json.loads(out)["findings"] if f["category"] == "proprietary"]


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

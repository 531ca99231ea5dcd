"""Proprietary code through the real addon: the finding and its source reach the history."""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
from pathlib import Path

from mitmproxy import http
from mitmproxy.test import taddons, tflow

from egress_watch.capture.addon import EgressWatch
from egress_watch.classify.proprietary.index import index_path, open_index
from egress_watch.classify.proprietary.repos import add_repo
from egress_watch.paths import HomePaths
from egress_watch.workstation.home import prepare_home
from tests.support.own_code import own_source

PACKAGE = Path(__file__).parents[2] / "egress_watch"


def test_pasted_code_is_recorded_with_its_source(ew_home: HomePaths, tmp_path: Path) -> None:
    repo = tmp_path / "ledger"
    repo.mkdir()
    shutil.copy(own_source("pipeline.py"), repo / "core.py")
    prepare_home(ew_home)
    conn = open_index(index_path(ew_home.home))
    add_repo(conn, repo, "ledger")
    conn.close()
    excerpt = "\n".join((repo / "core.py").read_text().split("\n")[39:69])
    content = f"Can you speed this up?\n\n```python\n{excerpt}\n```"
    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": content}]})
    request = http.Request.make(
        "POST", "https://api.openai.com/v1/chat/completions", body,
        {"content-type": "application/json"},
    )  # fmt: skip
    flow = tflow.tflow(req=request)
    instance = EgressWatch()
    with taddons.context(instance) as tctx:
        tctx.configure(instance, egress_watch_home=str(ew_home.home))
        asyncio.run(instance.request(flow))  # type: ignore[arg-type]
        asyncio.run(instance.done())
    assert flow.response is None  # monitor mode forwards it
    with sqlite3.connect(ew_home.database) as db:
        found = db.execute(
            "SELECT category, source_repo, source_path, source_start_line, source_end_line, "
            "score, masked FROM findings"
        ).fetchall()
    [(_, repo_name, path, start, end, score, _)] = [f for f in found if f[0] == "proprietary"]
    assert (repo_name, path) == ("ledger", "core.py")
    assert start <= 69
    assert end >= 40
    assert 0 < score <= 1
    assert max(excerpt.split("\n"), key=len).strip() not in str(found)  # no code in the history

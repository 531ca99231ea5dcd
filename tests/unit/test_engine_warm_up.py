"""An analysis worker warms its engine up as it starts: the first request carrying code does
not wait for the code index to load, and a damaged index does not stop the worker."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from egress_watch.classify.engine import Engine
from egress_watch.config.settings import parse_settings
from tests.support.code_index import index_files
from tests.support.own_code import own_source

KEY = b"k" * 32


def _engine(config_dir: Path) -> Engine:
    return Engine.configured(KEY, parse_settings({}, "config.toml"), config_dir, strict_index=False)


def test_warmed_up_engine_detects_indexed_code_on_its_first_request(tmp_path: Path) -> None:
    source = own_source("policy.py").read_text()
    index_files(tmp_path, {"ledger.py": source})
    engine = _engine(tmp_path)
    engine.warm_up()
    excerpt = "\n".join(source.splitlines()[20:45])
    findings = engine.classify_text(excerpt)
    assert [f for f in findings if f.category == "proprietary"]


def test_warm_up_without_an_index_does_nothing(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    engine.warm_up()
    assert not (tmp_path / "code-index.db").exists()
    assert not engine.matches_code()


def test_warm_up_of_a_damaged_index_logs_and_lets_the_worker_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = index_files(tmp_path, {"ledger.py": own_source("policy.py").read_text()})
    engine = _engine(tmp_path)
    for path in (db, db.with_name(db.name + "-wal")):
        if path.exists():
            path.write_bytes(b"not a database " * 512)
    with caplog.at_level(logging.WARNING):
        engine.warm_up()
    assert "code index warm-up failed" in caplog.text

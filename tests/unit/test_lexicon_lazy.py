"""Each family's tokenizer pattern is compiled when first needed (compiling all seven cost
every ``index add`` process 0.08 s), and an analysis worker's warm-up compiles them all, so
the proxy's first request carrying code pays none of it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from egress_watch.classify.engine import Engine
from egress_watch.classify.proprietary import lexicon
from egress_watch.classify.proprietary.tokenize import tokenize
from egress_watch.config.settings import parse_settings
from tests.support.code_index import index_files
from tests.support.own_code import own_source

FRESH_PROCESS = """
import json
from egress_watch.classify.proprietary import lexicon, tokenize
before = sorted(lexicon._LEXERS)
tokenize.tokenize("x := 1\\n", "go", False)
tokenize.tokenize("x = 1\\n", "no such language", False)
print(json.dumps([before, sorted(lexicon._LEXERS)]))
"""


def test_a_process_compiles_only_the_families_it_tokenizes() -> None:
    done = subprocess.run(
        [sys.executable, "-c", FRESH_PROCESS], capture_output=True, text=True, check=True
    )
    assert json.loads(done.stdout) == [[], [lexicon.GENERIC, lexicon.GO]]


def test_an_unknown_language_is_read_as_generic_code() -> None:
    text = "total = 1 # note\n"
    assert tokenize(text, "no such language", False) == tokenize(text, lexicon.GENERIC, False)


def test_the_warm_up_compiles_every_family(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    index_files(tmp_path, {"ledger.py": own_source("policy.py").read_text()})
    engine = Engine.configured(
        b"k" * 32, parse_settings({}, "config.toml"), tmp_path, strict_index=False
    )
    monkeypatch.setattr(lexicon, "_LEXERS", {})
    engine.warm_up()
    assert set(lexicon._LEXERS) == set(lexicon._FAMILIES)

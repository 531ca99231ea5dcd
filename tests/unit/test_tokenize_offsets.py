"""What the tokenizer's callers rely on, over real source installed here and edge cases.

The index reads tokens without offsets and the proxy with them: both must give the same
values and lines. Each token's line is the line its first character is on, and its offsets
point at its text. The edge cases are where the tokenizer reads one token by the one before
it (a JavaScript slash, a trailing comma, a dropped ``;``).
"""

from __future__ import annotations

import sysconfig
import time
import zipfile
from bisect import bisect_left
from collections.abc import Iterator
from pathlib import Path

import pytest

from egress_watch.classify.proprietary.files import skipped_content
from egress_watch.classify.proprietary.tokenize import (
    CLIKE,
    GO,
    JS,
    PYTHON,
    RUST,
    Tokens,
    tokenize,
)

FILES_PER_FAMILY = 60
SECONDS_PER_FAMILY = 3.0
GO_ROOTS = sorted(Path("/usr/share").glob("go-*/src"))
NODE_ROOT = Path("/usr/lib/node_modules")
JDK_ZIPS = sorted(Path("/usr/lib/jvm").glob("*/lib/src.zip"))


def _spread(items: list[str]) -> list[str]:
    items.sort()
    step = max(1, len(items) // FILES_PER_FAMILY)
    return items[::step][:FILES_PER_FAMILY]


def _texts(language: str) -> Iterator[str]:
    """A spread-out, repeatable sample of real files of one family (skipped when absent)."""
    if language == CLIKE:
        if not JDK_ZIPS:
            pytest.skip("no JDK src.zip here")
        with zipfile.ZipFile(JDK_ZIPS[-1]) as archive:
            names = _spread([n for n in archive.namelist() if n.endswith(".java")])
            datas = [archive.read(name) for name in names]
    else:
        roots = {
            PYTHON: [Path(sysconfig.get_paths()["purelib"])],
            GO: GO_ROOTS,
            JS: [NODE_ROOT] if NODE_ROOT.is_dir() else [],
        }[language]
        suffix = {PYTHON: ".py", GO: ".go", JS: ".js"}[language]
        if not roots:
            pytest.skip(f"no {language} sources here")
        paths = _spread([str(p) for root in roots for p in root.rglob(f"*{suffix}")])
        datas = [Path(path).read_bytes() for path in paths]
    for data in datas:
        if skipped_content(data) is None:
            yield data.decode("utf-8", "replace")


def _check_offsets(text: str, tokens: Tokens) -> None:
    newlines = [i for i, char in enumerate(text) if char == "\n"]
    previous_end = 0
    for value, line, start, end in zip(
        tokens.values, tokens.lines, tokens.starts, tokens.ends, strict=True
    ):
        assert previous_end <= start < end
        assert line == bisect_left(newlines, start) + 1, (value, start)
        if value.startswith('"'):  # a string: its text, quotes normalised
            assert value[1:] in text[start:end]
        else:
            assert text[start:end] == value
        previous_end = end


@pytest.mark.parametrize("language", [PYTHON, GO, JS, CLIKE])
def test_offsets_and_lines_point_at_each_token_of_real_files(language: str) -> None:
    deadline = time.monotonic() + SECONDS_PER_FAMILY
    files = tokens_seen = 0
    for text in _texts(language):
        bare = tokenize(text, language, offsets=False)
        full = tokenize(text, language, offsets=True)
        assert (bare.values, bare.lines) == (full.values, full.lines)
        assert bare.starts == bare.ends == []
        _check_offsets(text, full)
        files += 1
        tokens_seen += len(full.values)
        if time.monotonic() > deadline:
            break
    assert files >= 10
    assert tokens_seen > 10 * files


def test_a_javascript_slash_after_a_semicolon_or_a_brace_opens_a_regex() -> None:
    code = "let n = total / count; /a+b/.test(s)\nif (x) { } /c\\/d/g.exec(t)\nm = (a) / 2\n"
    tokens = tokenize(code, JS)
    assert "/a+b/" in tokens.values
    assert "/c\\/d/g" in tokens.values
    assert tokens.values[-7:] == ["m", "=", "(", "a", ")", "/", "2"]
    assert tokens.values.count("/") == 2  # the two divisions


def test_a_trailing_comma_is_dropped_across_lines_comments_and_semicolons() -> None:
    for language in (GO, JS, CLIKE, RUST):
        code = "f(a, // note\n)\ng(b,\n  ;]\nh(c, , )\n"
        tokens = tokenize(code, language)
        assert tokens.values == ["f", "(", "a", ")", "g", "(", "b", "]", "h", "(", "c", ",", ")"]
        assert tokens.lines == [1, 1, 1, 2, 3, 3, 3, 4, 5, 5, 5, 5, 5]


def test_semicolons_are_dropped_wherever_they_stand() -> None:
    for language in (GO, JS, CLIKE, RUST):
        tokens = tokenize("x = 1;\n;; y = 2 ;", language)
        assert tokens.values == ["x", "=", "1", "y", "=", "2"]
        assert tokens.lines == [1, 1, 1, 2, 2, 2]


def test_a_python_string_after_a_semicolon_is_kept_and_a_docstring_is_not() -> None:
    tokens = tokenize('"""doc"""\nx = 1; """kept"""\n', PYTHON)
    assert tokens.values == ["x", "=", "1", '"kept']

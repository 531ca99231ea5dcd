"""Proprietary-code matching in depth: imports, renames, the public background, parallel
indexing, long texts, excerpts cut inside docstrings, language guessing and thresholds.

Real files (modules of this project), real git, real SQLite; nothing of ours is mocked.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from array import array
from pathlib import Path
from typing import Any

import click
from click.testing import CliRunner

from egress_watch.classify.proprietary import jobs
from egress_watch.classify.proprietary.background import background_info, build_background
from egress_watch.classify.proprietary.index import open_index
from egress_watch.classify.proprietary.lines import MIN_LINE_BYTES, KnownLines, line_hashes, windows
from egress_watch.classify.proprietary.matcher import PREFILTER_CHARS, Matcher, Thresholds
from egress_watch.classify.proprietary.postings import every_posting
from egress_watch.classify.proprietary.prompt import guess_language
from egress_watch.classify.proprietary.repos import add_repo
from egress_watch.classify.proprietary.tokenize import (
    CLIKE,
    GO,
    JS,
    PYTHON,
    RUST,
    name_class,
    renamed_channel,
    tokenize,
)
from egress_watch.cli.main import cli
from tests.support.own_code import own_source

PACKAGE = Path(__file__).parents[2] / "egress_watch"
ROOT = PACKAGE.parent


def make_repo(root: Path, names: list[str]) -> Path:
    """A git repository holding copies of the given modules of this project (same paths)."""
    root.mkdir()
    for name in names:
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(own_source(name), target)
    git = ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "init"], check=True)
    return root


def index_repo(db: Path, repo: Path, name: str = "repo") -> None:
    """Index ``repo`` into ``db`` in this process."""
    conn = open_index(db)
    try:
        add_repo(conn, repo, name)
    finally:
        conn.close()


def lines_of(path: Path, first: int, count: int) -> str:
    """``count`` lines of ``path`` from 1-based line ``first``."""
    return "\n".join(path.read_text().split("\n")[first - 1 : first - 1 + count])


def run_script(script: str, *args: Path) -> Any:
    """Run ``script`` in a fresh single-threaded Python (so indexing may fork); its JSON."""
    child = subprocess.run(
        [sys.executable, "-c", script, *map(str, args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
        timeout=120,
    )
    return json.loads(child.stdout)


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


# 1. Import statements are boilerplate ------------------------------------------------------


def test_python_imports_are_dropped_including_parenthesised_and_continued() -> None:
    code = "import x\nfrom a.b import (c,\n d)\nfrom q import r, \\\n    s\nvalue = compute(x)\n"
    tokens = tokenize(code, PYTHON)
    assert tokens.values == ["value", "=", "compute", "(", "x", ")"]
    assert tokens.lines == [6] * 6  # lines still count the dropped ones


def test_go_package_and_import_blocks_are_dropped() -> None:
    code = 'package main\n\nimport (\n\t"fmt"\n\t"os"\n)\nimport "os"\n\nfunc main() {\n}\n'
    tokens = tokenize(code, CLIKE)
    assert tokens.values == ["func", "main", "(", ")", "{", "}"]
    assert tokens.lines[0] == 9


def test_js_static_imports_are_dropped_but_dynamic_import_calls_are_kept() -> None:
    code = (
        'import {a,\n b} from "x";\n'
        "import d from 'y'\n"
        "import 'z';\n"
        'const m = await import("m");\n'
        "a.import(1);\n"
    )
    tokens = tokenize(code, CLIKE)
    assert tokens.values == [
        *("const", "m", "=", "await", "import", "(", '"m', ")"),
        *("a", ".", "import", "(", "1", ")"),
    ]
    assert tokens.lines[0] == 5


def test_java_imports_and_c_includes_are_dropped() -> None:
    java = tokenize("import java.util.List;\nclass A { int x = 1; }\n", CLIKE)
    assert java.values == ["class", "A", "{", "int", "x", "=", "1", "}"]
    c = tokenize("#include <stdio.h>\nint main() { return 0; }\n", CLIKE)
    assert c.values == ["int", "main", "(", ")", "{", "return", "0", "}"]


def test_rust_use_declarations_are_dropped() -> None:
    code = "use std::io::{self, Read};\npub use a::b;\nfn main() { let x = 1; }\n"
    tokens = tokenize(code, RUST)
    assert tokens.values == ["fn", "main", "(", ")", "{", "let", "x", "=", "1", "}"]
    assert tokens.lines[0] == 3


def test_an_excerpt_of_only_import_lines_never_matches_its_own_file(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", ["cli/trust.py", "policy.py"])
    db = tmp_path / "code-index.db"
    index_repo(db, repo)
    source = repo / "cli" / "trust.py"
    text = source.read_text()
    start = text.index("from __future__")
    imports = text[start : text.index("\n\n\n", start) + 1]  # the whole import section
    assert imports.count("\n") >= 25  # a long block: it would match if imports were code
    assert all(isinstance(node, ast.Import | ast.ImportFrom) for node in ast.parse(imports).body)
    matcher = Matcher(db)
    assert matcher.match(imports) == []
    # The same file's code right below is found: the index works, imports are the exception.
    code = lines_of(source, 42, 15)
    assert [m.path for m in matcher.match(code)] == ["cli/trust.py"]


# 2. Renames that keep the naming convention ------------------------------------------------


def test_name_class_maps_identifiers_to_their_naming_convention() -> None:
    assert name_class("value") == "V"
    assert name_class("_private") == "V"
    assert name_class("ClassName") == "C"
    assert name_class("CONSTANT_NAME") == "K"
    for unchanged in ("def", "return", "None", "self", "+", "==", "(", "42", '"text'):
        assert name_class(unchanged) == unchanged
    values = ["total", "=", "Order", "(", "MAX_ITEMS", ")", "return", "total"]
    assert renamed_channel(values) == ["V", "=", "C", "(", "K", ")", "return", "V"]


def test_renamed_excerpt_keeping_case_conventions_still_matches_its_file(
    tmp_path: Path,
) -> None:
    repo = make_repo(tmp_path / "repo", ["policy.py", "pipeline.py", "settings.py"])
    db = tmp_path / "code-index.db"
    index_repo(db, repo)
    excerpt = lines_of(repo / "policy.py", 44, 17)  # class Scope ... DEFAULT_SCOPE = Scope(...)
    assert "class Scope" in excerpt
    assert "DEFAULT_SCOPE" in excerpt
    renames = {
        "Scope": "Range",  # Capitalised -> Capitalised
        "DEFAULT_SCOPE": "BASE_RANGE",  # CONSTANT -> CONSTANT
        "by_severity": "per_sev",
        "by_category": "per_cat",
        "level": "rank",
        "finding": "item",
        "found": "hit",
    }
    renamed = excerpt
    for old, new in renames.items():
        renamed = re.sub(rf"\b{old}\b", new, renamed)
    assert renamed != excerpt
    found = Matcher(db).match(renamed)
    assert found
    best = found[0]
    assert best.path == "policy.py"
    assert best.start_line <= 60
    assert best.end_line >= 44
    assert best.channel == "renamed" or best.exact_tokens < best.tokens


# 3. The background of public code ------------------------------------------------------------


def _shared_function() -> str:
    """``read_har`` of har.py: a 20-line function both public files will contain."""
    source = own_source("har.py").read_text().split("\n")
    start = next(n for n, line in enumerate(source, 1) if line.startswith("def read_har("))
    text = lines_of(own_source("har.py"), start, 20) + "\n"
    assert text.startswith("def read_har(")
    return text


def _public_folder(root: Path) -> Path:
    """Two public files that share one function and otherwise differ."""
    shared = _shared_function()
    root.mkdir()
    (root / "a.py").write_text(own_source("decode.py").read_text() + "\n\n" + shared)
    (root / "b.py").write_text(shared + "\n\n" + own_source("redact.py").read_text())
    return root


def _own_repo(root: Path) -> tuple[Path, str]:
    """A repository whose one file holds the public function plus its own code (returned)."""
    root.mkdir()
    own = own_source("triage.py").read_text()
    (root / "mine.py").write_text(own + "\n\n" + _shared_function())
    unique = "\n".join(own.split("\n")[57:92])
    return root, unique


def test_code_found_in_two_public_files_is_never_indexed(tmp_path: Path) -> None:
    public = _public_folder(tmp_path / "public")
    repo, unique = _own_repo(tmp_path / "repo")
    db = tmp_path / "code-index.db"
    conn = open_index(db)
    info = build_background(conn, [public])
    add_repo(conn, repo, "mine")
    conn.close()
    assert info.files == 2
    matcher = Matcher(db)
    assert matcher.match(_shared_function()) == []
    [match] = matcher.match(unique)
    assert (match.repo, match.path) == ("mine", "mine.py")
    assert match.start_line <= 92
    assert match.end_line >= 58


def test_background_info_reports_its_sources_and_files(tmp_path: Path) -> None:
    public = _public_folder(tmp_path / "public")
    conn = open_index(tmp_path / "code-index.db")
    assert background_info(conn) is None
    build_background(conn, [public])
    info = background_info(conn)
    conn.close()
    assert info is not None
    assert info.sources == [str(public.resolve())]
    assert info.files == 2
    assert info.bytes == sum(p.stat().st_size for p in public.iterdir())
    assert info.hashes > 0


def test_building_the_background_after_indexing_forgets_public_idioms(tmp_path: Path) -> None:
    public = _public_folder(tmp_path / "public")
    repo, unique = _own_repo(tmp_path / "repo")
    db = tmp_path / "code-index.db"
    conn = open_index(db)
    add_repo(conn, repo, "mine")
    matcher = Matcher(db)
    assert [m.path for m in matcher.match(_shared_function())] == ["mine.py"]  # before

    build_background(conn, [public])
    conn.close()
    assert matcher.match(_shared_function()) == []
    assert [m.path for m in matcher.match(unique)] == ["mine.py"]


def test_cli_background_builds_from_given_folders_and_list_shows_it(tmp_path: Path) -> None:
    public = _public_folder(tmp_path / "public")
    home = str(tmp_path / "home")
    code, _, err = invoke("index", "background", str(public), "--no-stdlib", "--home", home)
    assert code == 0
    assert "background: 2 files" in err
    repo, unique = _own_repo(tmp_path / "repo")
    code, _, err = invoke("index", "add", str(repo), "--name", "mine", "--home", home)
    assert code == 0
    assert "public-code background" not in err  # the stdlib was not added behind our back
    code, out, err = invoke("index", "list", "--home", home)
    assert code == 0
    assert f"  {public.resolve()}: 2 files" in err  # each source, with what it gave
    assert "mine" in out
    matcher = Matcher(tmp_path / "home" / "code-index.db")
    assert matcher.match(_shared_function()) == []
    assert [m.path for m in matcher.match(unique)] == ["mine.py"]


# 4. Parallel indexing ------------------------------------------------------------------------

PARALLEL_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from egress_watch.classify.proprietary import jobs
    from egress_watch.classify.proprietary.repos import add_repo
    from egress_watch.classify.proprietary.background import build_background
    from egress_watch.classify.proprietary.index import open_index

    jobs.PARALLEL_FROM_BYTES = 0
    can_fork = jobs.can_fork()
    conn = open_index(Path(sys.argv[1]))
    build_background(conn, [Path(sys.argv[3])])
    add_repo(conn, Path(sys.argv[2]), "repo")
    conn.close()
    # Workers fill their own token caches: the parent's stays empty when they did the work.
    print(json.dumps({"can_fork": can_fork, "parent_cache": len(jobs._cache)}))
    """
)


def _rows(db: Path, query: str) -> set[tuple[object, ...]]:
    conn = sqlite3.connect(db)
    try:
        return set(conn.execute(query))
    finally:
        conn.close()


def _postings_by_path(db: Path) -> list[tuple[int, str, int, int]]:
    """Every stored posting as (hash, file path, position, line), sorted."""
    conn = sqlite3.connect(db)
    try:
        paths = dict(conn.execute("SELECT id, path FROM files"))
        return sorted((h, paths[f], pos, line) for h, f, pos, line in every_posting(conn))
    finally:
        conn.close()


def test_parallel_indexing_stores_exactly_what_sequential_indexing_does(tmp_path: Path) -> None:
    names = sorted(
        str(p.relative_to(PACKAGE))
        for folder in ("store", "classify")
        for p in own_source(folder).glob("*.py")
    )
    assert len(names) > 16  # more than one chunk of files per worker
    repo = make_repo(tmp_path / "repo", names)
    assert sum((repo / n).stat().st_size for n in names) < jobs.PARALLEL_FROM_BYTES
    # A background, so that workers must also drop the public k-grams they were given.
    public = tmp_path / "public"
    public.mkdir()
    queries = (own_source("store") / "queries.py").read_text()
    (public / "a.py").write_text(queries)
    (public / "b.py").write_text(queries[: len(queries) // 2])
    parallel_db = tmp_path / "parallel.db"
    report = run_script(PARALLEL_SCRIPT, parallel_db, repo, public)
    assert report == {"can_fork": True, "parent_cache": 0}  # the forked workers ran

    sequential_db = tmp_path / "sequential.db"
    conn = open_index(sequential_db)
    assert build_background(conn, [public]).hashes > 100
    add_repo(conn, repo, "repo")
    conn.close()
    lines = "SELECT l.hash, f.path FROM lines l JOIN files f ON f.id = l.file_id"
    files = "SELECT path FROM files"
    assert _rows(parallel_db, files) == _rows(sequential_db, files) == {(n,) for n in names}
    parallel_postings = _postings_by_path(parallel_db)
    assert len({row[1] for row in parallel_postings}) >= 16  # all but the empty __init__.py
    assert any(path == "store/queries.py" for _, path, _, _ in parallel_postings)
    assert parallel_postings == _postings_by_path(sequential_db)
    assert _rows(parallel_db, lines) == _rows(sequential_db, lines)


# 5. Long texts -------------------------------------------------------------------------------

LONG_INDEXED = ["policy.py", "pipeline.py", "settings.py", "classify/secrets.py"]
FILLER_BEFORE = ["proxy.py", "capture/recording.py", "capture/wiring.py", "daemon.py"]
FILLER_AFTER = ["cli.py", "doctor.py", "ca.py"]
CLICK_MODULES = ("termui.py", "decorators.py", "parser.py")
EXCERPT_FIRST = 240  # settings.py: 40 lines of the _SCHEMA table and the loader below it


def _filler(names: list[str]) -> str:
    return "\n".join(own_source(name).read_text() for name in names)


def _known_lines(db: Path) -> KnownLines:
    """Every line hash the index stored, as the matcher holds them."""
    conn = sqlite3.connect(db)
    try:
        hashes = [h for (h,) in conn.execute("SELECT DISTINCT hash FROM lines ORDER BY hash")]
    finally:
        conn.close()
    return KnownLines(array("i", hashes))


def _long_text() -> tuple[str, int, int]:
    """~65 KB of unindexed modules with 40 lines of settings.py in the middle, and the
    excerpt's character span in it."""
    before, after = _filler(FILLER_BEFORE), _filler(FILLER_AFTER)
    excerpt = lines_of(own_source("settings.py"), EXCERPT_FIRST, 40)
    start = len(before) + 1
    return before + "\n" + excerpt + "\n" + after, start, start + len(excerpt)


def test_an_excerpt_inside_a_long_unrelated_text_is_found_where_it_is(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", LONG_INDEXED)
    db = tmp_path / "code-index.db"
    index_repo(db, repo)
    text, start, end = _long_text()
    assert len(text) > 3 * PREFILTER_CHARS
    matcher = Matcher(db)
    assert matcher.match(_filler(FILLER_BEFORE) + "\n" + _filler(FILLER_AFTER)) == []
    found = [m for m in matcher.match(text) if m.path == "settings.py"]
    assert found
    match = found[0]
    assert match.start_line <= EXCERPT_FIRST + 39
    assert match.end_line >= EXCERPT_FIRST
    assert start <= match.start < match.end <= end
    assert match.tokens >= 100


def test_windows_select_only_stretches_around_known_lines(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", LONG_INDEXED)
    db = tmp_path / "code-index.db"
    index_repo(db, repo)
    known = _known_lines(db)
    assert len(known.hashes) > 100
    # Another project's code (this project's own modules share import lines with the index).
    click_source = Path(click.__file__).parent
    unrelated = "\n".join((click_source / name).read_text() for name in CLICK_MODULES)
    assert len(unrelated) > 2 * PREFILTER_CHARS
    assert windows(unrelated, known) == []
    text, start, end = _long_text()
    spans = windows(text, known)
    assert spans
    assert any(a <= start and end <= b for a, b in spans)  # one span holds the whole excerpt
    assert sum(b - a for a, b in spans) < len(text) / 4  # most of the text is skipped


def test_line_hashes_ignore_indentation_spacing_quotes_and_trailing_comments() -> None:
    original = 'result = parse_value(name, "default", limit=10)'
    variants = [
        "        " + original,
        'result=parse_value( name,"default" , limit = 10 )',
        "result = parse_value(name, 'default', limit=10)",
        original + "  # why we parse here",
        original + " // same in C-like code",
        "\t" + original.replace('"', "'") + "\t# both",
    ]
    [(_, expected)] = line_hashes(original)
    for variant in variants:
        assert line_hashes(variant) == [(0, expected)], variant
    assert line_hashes(original.replace("10", "11")) != [(0, expected)]


def test_line_hashes_leave_out_lines_too_short_once_squeezed() -> None:
    padded = "        return   x   or  y        "  # 34 characters, 'returnxory' squeezed
    assert len(padded) >= MIN_LINE_BYTES
    assert line_hashes(padded) == []
    text = "a" * (MIN_LINE_BYTES - 1) + "\n  }\n" + "b" * MIN_LINE_BYTES + "\n"
    assert [number for number, _ in line_hashes(text)] == [2]


# 6. Excerpts cut inside a docstring ----------------------------------------------------------


def test_excerpt_starting_at_a_docstrings_closing_quotes_still_matches(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", ["policy.py", "pipeline.py", "settings.py"])
    db = tmp_path / "code-index.db"
    index_repo(db, repo)
    # parse_policy's docstring end + body, located in the file so edits to policy.py keep it
    source = (repo / "policy.py").read_text().split("\n")
    start = source.index(
        "def parse_policy(raw: object, known_services: Collection[str]) -> PolicyTable:"
    )
    first = source.index('    """', start) + 1  # 1-based line of the closing quotes
    last = next(n for n in range(first, len(source)) if source[n].startswith("    return ")) + 1
    excerpt = lines_of(repo / "policy.py", first, last - first + 1)  # through the return
    assert excerpt.split("\n")[0].strip() == '"""'
    assert excerpt.count('"""') % 2 == 1
    assert len(tokenize(excerpt, PYTHON).values) < 5  # read naively, the code is a string
    [match] = Matcher(db).match(excerpt)
    assert match.path == "policy.py"
    assert match.start_line <= last
    assert match.end_line >= first + 1
    assert excerpt[match.start : match.end].startswith("if not isinstance(raw, Mapping)")
    matched = excerpt[match.start : match.end].rstrip(")")  # closing brackets are no tokens
    assert matched.endswith(source[last - 1].strip().rstrip(")"))


def test_a_whole_indexed_module_pasted_as_is_is_found(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", ["doctor.py"])
    db = tmp_path / "code-index.db"
    index_repo(db, repo)
    text = (repo / "doctor.py").read_text()
    assert len(text) < PREFILTER_CHARS  # read whole, no line prefilter involved
    found = Matcher(db).match(text)
    assert [m.path for m in found][:1] == ["doctor.py"]
    assert found[0].tokens > len(tokenize(text, PYTHON).values) / 2


# 7. Language guessing ------------------------------------------------------------------------


def test_python_with_a_variable_named_func_and_comments_is_python() -> None:
    code = textwrap.dedent(
        """\
        # look the handler up by name
        func = registry.get(name)
        if func is None:  # unknown name: fall back
            func = default_handler
        # call func with the parsed arguments
        result = func(*args, **kwargs)
        for func in hooks:
            func (result)
        """
    )
    assert guess_language(code) == PYTHON


def test_real_go_is_go() -> None:
    code = textwrap.dedent(
        """\
        func main() {
            total := add(1, 2)
            fmt.Println(total)
        }

        func add(a int, b int) int {
            return a + b
        }
        """
    )
    assert guess_language(code) == GO


# 8. Thresholds -------------------------------------------------------------------------------


def test_one_exact_kgram_passes_only_when_it_is_most_of_a_short_query() -> None:
    limits = Thresholds()
    assert limits.raw == 8
    assert limits.passes(8, 8, limits.short_share)
    assert not limits.passes(8, 8, 0.1)
    assert not limits.passes(7, 7, 1.0)  # shorter than one k-gram


def test_forty_covered_tokens_always_pass() -> None:
    limits = Thresholds()
    assert limits.passes(40, 0, 0.01)
    assert limits.passes(40, 40, 0.01)
    assert not limits.passes(39, 0, 0.01)


def test_a_renamed_only_fragment_needs_half_the_query() -> None:
    limits = Thresholds()
    floor = limits.renamed
    assert limits.passes(floor, 0, 0.5)
    assert not limits.passes(floor, 0, 0.49)
    assert not limits.passes(floor - 1, 0, 1.0)


def test_a_long_exact_run_passes_at_a_lower_share_than_min_score() -> None:
    limits = Thresholds()
    assert limits.min_score > 0.2
    assert limits.passes(30, 30, 0.2)
    assert not limits.passes(30, 0, 0.2)  # the same coverage, renamed only, does not
    assert not limits.passes(30, 30, 0.1)
    assert not limits.passes(12, 12, 0.2)  # a short exact run needs more of the query


def test_commonjs_requires_are_imports_too() -> None:
    code = (
        "const { readdir } = require('node:fs/promises')\n"
        'const log = require("proc-log").log;\n'
        "let total = require_count(x)\n"
    )
    assert tokenize(code, CLIKE).values == ["let", "total", "=", "require_count", "(", "x", ")"]
    assert [number for number, _ in line_hashes(code, indexing=True)] == [2]  # not the others


def test_javascript_without_semicolons_is_not_taken_for_python() -> None:
    private_fields = "  #events = []\n  #data = new Map()\n\n  constructor (opts, ...streams) {\n"
    assert guess_language(private_fields) == JS
    switch = "switch (arg) {\n  case '--rtl':\n    return this.rtl\n  default:\n"
    assert guess_language(switch) == JS
    assert guess_language("class Box:\n    def size(self):\n        return None\n") == PYTHON


def test_known_lines_from_different_files_do_not_make_a_stretch(tmp_path: Path) -> None:
    first = "\n".join(f"alpha_value_{n} = compute_alpha({n}, 'first')" for n in range(4))
    second = "\n".join(f"beta_value_{n} = compute_beta({n}, 'second')" for n in range(4))
    root = tmp_path / "repo"
    root.mkdir()
    (root / "first.py").write_text(first + "\n")
    (root / "second.py").write_text(second + "\n")
    db = tmp_path / "code-index.db"
    index_repo(db, root)
    matcher = Matcher(db)
    matcher.match("x = 1\n" * 3)  # loads the known lines
    known = matcher._known_lines
    filler = "\n".join(f"unrelated_{n} = {n}" for n in range(3000))
    lines_a, lines_b = first.split("\n"), second.split("\n")
    mixed = f"{filler}\n{lines_a[0]}\n{lines_b[0]}\n{lines_a[1]}\n{lines_b[1]}\n{filler}"
    same = f"{filler}\n{lines_a[0]}\n{lines_a[1]}\n{filler}"
    files_of = matcher._files_of_lines
    assert windows(mixed, known)  # two known lines close together...
    assert windows(same, known, files_of)  # ...make a stretch when one file has both
    alternating = f"{filler}\n{lines_a[0]}\n{lines_b[0]}\n{filler}"
    assert windows(alternating, known, files_of) == []  # one line from each file: chance


WORKER_DIES_SCRIPT = """
import json, os, sqlite3, sys
from pathlib import Path
from egress_watch.classify.proprietary import jobs
from egress_watch.classify.proprietary.index import CodeIndexError, open_index
from egress_watch.classify.proprietary.repos import add_repo
from egress_watch.classify.proprietary.postings import count

parent = os.getpid()
real = jobs.fingerprint_file

def dies_in_a_worker(root, path):
    if os.getpid() != parent:
        os._exit(3)  # as an out-of-memory kill would
    return real(root, path)

db, first, second = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
conn = open_index(db)
add_repo(conn, first, "first")  # small: indexed in this process
before = count(conn)
jobs.PARALLEL_FROM_BYTES = 0
jobs.fingerprint_file = dies_in_a_worker
try:
    add_repo(conn, second, "second")
    error = None
except CodeIndexError as caught:
    error = str(caught)
conn.close()
check = sqlite3.connect(db)
print(json.dumps({
    "error": error,
    "postings_kept": count(check) == before,
    "repos": [r for (r,) in check.execute("SELECT name FROM repos ORDER BY name")],
}))
"""


def test_a_dying_indexing_worker_leaves_the_index_as_it_was(tmp_path: Path) -> None:
    first = make_repo(tmp_path / "first", ["policy.py"])
    second = make_repo(tmp_path / "second", ["pipeline.py", "settings.py"])
    report = run_script(WORKER_DIES_SCRIPT, tmp_path / "i.db", first, second)
    assert "indexing worker process died" in report["error"]
    assert "nothing was changed" in report["error"]
    assert report["postings_kept"]
    assert report["repos"] == ["first"]  # the failed add registered nothing

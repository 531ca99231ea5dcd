"""Languages: strings that cannot run away, a guess per 5-line excerpt, families kept apart.

Real files, real git, real SQLite; nothing of ours is mocked.
"""

from __future__ import annotations

import dataclasses
import shutil
import sqlite3
import textwrap
from pathlib import Path

import pytest

from egress_watch.classify.proprietary.background import (
    background_to_build,
    build_background,
    public_hashes,
)
from egress_watch.classify.proprietary.excerpts import excerpt_tokens
from egress_watch.classify.proprietary.files import candidates
from egress_watch.classify.proprietary.index import FORMAT, CodeIndexError, open_index
from egress_watch.classify.proprietary.matcher import Matcher
from egress_watch.classify.proprietary.prompt import Region, code_regions, guess_language
from egress_watch.classify.proprietary.repos import add_repo, rebuild
from egress_watch.classify.proprietary.shared import shared_directory
from egress_watch.classify.proprietary.tokenize import CLIKE, GO, JS, PYTHON, RUST, tokenize
from tests.support.code_index import index_files
from tests.support.own_code import own_source

PACKAGE = Path(__file__).parents[2] / "egress_watch"

# 1. Strings and comments that cannot run away ------------------------------------------------


def test_a_regex_literal_holding_a_backtick_opens_no_template() -> None:
    code = "const token = /[\\w!#$%&'*+.^`|~-]+/\nfunction parse (value) {\n  return 1\n}\n"
    tokens = tokenize(code, JS)
    assert tokens.values[:4] == ["const", "token", "=", "/[\\w!#$%&'*+.^`|~-]+/"]
    assert tokens.values[4:8] == ["function", "parse", "(", "value"]
    assert tokens.lines[-1] == 4


def test_a_slash_after_a_name_or_a_closing_bracket_divides() -> None:
    tokens = tokenize("let ratio = total / count / (a) / 2\nlet next = 1\n", JS)
    assert tokens.values.count("/") == 3
    assert tokens.values[-4:] == ["let", "next", "=", "1"]
    after_return = tokenize("function f (s) {\n  return /a/g.test(s)\n}\n", JS)
    assert "/a/g" in after_return.values


def test_template_literals_nest_through_their_expressions() -> None:
    code = (
        "const msg = `a ${items.map(i => `<li>${i.name}</li>`).join('')} b ${ {x: 1}.x }`\n"
        "const rest = `re ${/`/.test(s)}`\n"
        "const after = 2\n"
    )
    tokens = tokenize(code, JS)
    assert tokens.values[-4:] == ["const", "after", "=", "2"]
    assert tokens.lines[-1] == 3
    assert tokens.values.count("const") == 3


def test_a_go_raw_string_ending_in_a_backslash_closes() -> None:
    code = 'var sep = `\\`\nfunc join(parts []string) string {\n\treturn "x"\n}\n'
    tokens = tokenize(code, GO)
    assert tokens.values[:4] == ["var", "sep", "=", '"\\']
    assert "func" in tokens.values
    assert tokens.lines[-1] == 4


def test_a_rust_raw_string_ends_at_its_own_hashes() -> None:
    code = 'let s = r##"say "#hi"# here"##;\nlet n = 1;\n'
    tokens = tokenize(code, RUST)
    assert tokens.values[:4] == ["let", "s", "=", '"say "#hi"# here']
    assert tokens.values[-4:] == ["let", "n", "=", "1"]


def test_python_string_prefixes_open_strings() -> None:
    tokens = tokenize('a = rb"\\d+" + Rb"x" + f"{y}"\nz = 1\n', PYTHON)
    assert tokens.values == ["a", "=", '"\\d+', "+", '"x', "+", '"{y}', "z", "=", "1"]


EXCERPT_ENDING_IN_A_DOCSTRING = '''\
    values = [item.strip() for item in raw.split(",")]
    if not values:
        raise ValueError("empty list")
    return values


def describe(values):
    """Explain what the values mean in plain words, for the log.
    Every value gets one sentence, and the sentences are joined
    with a space, as the reader expects them to be'''


def test_an_excerpt_ending_inside_a_docstring_reads_as_written() -> None:
    tokens = excerpt_tokens(Region(0, EXCERPT_ENDING_IN_A_DOCSTRING, PYTHON))
    assert tokens.values[:3] == ["values", "=", "["]
    assert tokens.values[-6:] == ["def", "describe", "(", "values", ")", ":"]


def test_an_excerpt_starting_inside_a_docstring_is_read_from_its_end() -> None:
    code = (
        "    words, one per line, as the reader expects them to be.\n"
        '    """\n'
        "    return [value.strip() for value in values]\n"
    )
    tokens = excerpt_tokens(Region(0, code, PYTHON))
    assert tokens.values[:3] == ["return", "[", "value"]


def test_a_verbatim_excerpt_ending_inside_a_docstring_matches_its_file(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    source = own_source("policy.py").read_text()
    (repo / "policy.py").write_text(source)
    db = tmp_path / "code-index.db"
    conn = open_index(db)
    add_repo(conn, repo, "repo")
    conn.close()
    lines = source.split("\n")

    def excerpt_at(n: int) -> str:
        return "\n".join(lines[n - 13 : n + 2])  # 15 lines, the last two inside a docstring

    opening = next(
        n
        for n, line in enumerate(lines)
        if line.strip().startswith('"""')
        and line.count('"""') == 1
        and n > 20
        and excerpt_at(n).count('"""') % 2 == 1  # it ends inside the docstring
    )
    excerpt = excerpt_at(opening)
    [match] = Matcher(db).match(excerpt)
    assert match.path == "policy.py"
    assert match.start_line <= opening + 1
    assert match.end_line >= opening - 12


# 2. Language guess on 5-line excerpts ---------------------------------------------------------

FIVE_LINES = {
    PYTHON: """\
        for name, value in sorted(settings.items()):
            if value is None:
                continue
            lines.append(f"{name} = {value!r}")
        return "\\n".join(lines)
    """,
    GO: """\
        tests := []struct {
            name string
            want int
        }{
            {"empty", 0},
    """,
    JS: """\
        const server = http.createServer((req, res) => {
          res.writeHead(200, { 'Content-Type': 'text/plain' })
          res.end('ok')
        })
        server.listen(port)
    """,
    "typescript": """\
        export async function load(path: string): Promise<Config> {
          const raw = await readFile(path, 'utf8')
          return JSON.parse(raw) as Config
        }
        export default load
    """,
    "java": """\
        @Override
        public String toString() {
            return "Point(" + x + ", " + y + ")";
        }
        private final int x;
    """,
    "c": """\
        #include <stdio.h>
        static int count(const char *s) {
            int n = 0;
            while (*s++) n++;
            return n;
    """,
    "c++": """\
        std::vector<int> squares(const std::vector<int>& xs) {
            std::vector<int> out;
            for (int x : xs) out.push_back(x * x);
            return out;
        }
    """,
    RUST: """\
        pub fn parse(input: &str) -> Result<Config, Error> {
            let mut config = Config::default();
            for line in input.lines() {
                config.apply(line)?;
            }
    """,
    "go-errors": """\
        resp, err := http.Get(url)
        if err != nil {
            return nil, err
        }
        defer resp.Body.Close()
    """,
    "js-tests": """\
        describe('parse', () => {
          it('reads an empty file', () => {
            expect(parse('')).toEqual({})
          })
        })
    """,
}
FAMILY = {"typescript": JS, "java": CLIKE, "c": CLIKE, "c++": CLIKE, "go-errors": GO}
FAMILY["js-tests"] = JS


@pytest.mark.parametrize("language", list(FIVE_LINES))
def test_five_lines_of_each_language_are_told_apart(language: str) -> None:
    code = textwrap.dedent(FIVE_LINES[language])
    assert len(code.strip().split("\n")) == 5
    assert guess_language(code) == FAMILY.get(language, language)


def test_fence_tags_name_the_family() -> None:
    text = "```ts\nconst a = 1\n```\n```golang\nx := 1\n```\n```java\nint a = 1;\n```\n"
    assert [region.language for region in code_regions(text)[:3]] == [JS, GO, CLIKE]


# 3. Families kept apart ---------------------------------------------------------------------

GO_FILE = """\
package store

func (s *Store) Lookup(ctx context.Context, key string) (*Record, error) {
\trecord, found := s.cache.Get(key)
\tif !found {
\t\trecord, err := s.backend.Fetch(ctx, key, s.options.Timeout)
\t\tif err != nil {
\t\t\treturn nil, fmt.Errorf("lookup %q in %s: %w", key, s.name, err)
\t\t}
\t\ts.cache.Put(key, record, s.options.TTL)
\t}
\treturn record, nil
}
"""


def test_a_region_matches_only_files_of_its_family(tmp_path: Path) -> None:
    db = index_files(tmp_path, {"store.go": GO_FILE})
    body = GO_FILE.split("\n", 2)[2]
    matcher = Matcher(db)
    [found] = matcher.match(f"```go\n{body}```\n")
    assert found.path == "store.go"
    assert matcher.match(f"```js\n{body}```\n") == []  # the same text, read as JavaScript


def test_an_index_from_format_2_is_recovered_by_rebuild(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    shutil.copy(own_source("policy.py"), repo / "policy.py")
    db = tmp_path / "code-index.db"
    old = sqlite3.connect(db)  # what format 2 wrote: files had no language column
    old.executescript(
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE repos (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,
            root TEXT NOT NULL, indexed_at TEXT, files INTEGER NOT NULL DEFAULT 0,
            bytes INTEGER NOT NULL DEFAULT 0);
        CREATE TABLE files (id INTEGER PRIMARY KEY AUTOINCREMENT, repo_id INTEGER NOT NULL,
            path TEXT NOT NULL, key TEXT NOT NULL, bytes INTEGER NOT NULL,
            UNIQUE (repo_id, path));
        INSERT INTO meta VALUES ('format', '2-py3.12');
        """
    )
    old.execute("INSERT INTO repos (name, root, indexed_at) VALUES ('repo', ?, 'x')", (str(repo),))
    old.execute("INSERT INTO files (repo_id, path, key, bytes) VALUES (1, 'policy.py', 'k', 1)")
    old.commit()
    old.close()
    with pytest.raises(CodeIndexError, match="index rebuild"):
        open_index(db)
    conn = open_index(db, reset=True)
    rebuild(conn, None)
    assert conn.execute("SELECT value FROM meta WHERE key='format'").fetchone()[0] == FORMAT
    assert conn.execute("SELECT lang FROM files").fetchall() == [(PYTHON,)]
    conn.close()
    excerpt = "\n".join((repo / "policy.py").read_text().split("\n")[100:130])
    assert [m.path for m in Matcher(db).match(excerpt)][:1] == ["policy.py"]


# 4. The background is built once per machine -------------------------------------------------


def test_a_background_is_built_once_and_reused_by_another_index(tmp_path: Path) -> None:
    public = tmp_path / "public"
    public.mkdir()
    for name in ("policy.py", "pipeline.py", "settings.py"):
        shutil.copy(own_source(name), public / name)
    reads: list[list[int]] = [[], []]
    infos = []
    for number in range(2):
        conn = open_index(tmp_path / f"index-{number}.db")
        infos.append(
            build_background(conn, [public], lambda d, _t, _b, n=number: reads[n].append(d))
        )
        hashes = public_hashes(conn)
        assert conn.execute("SELECT COUNT(*) FROM background").fetchone() == (0,)  # not copied
        conn.close()
        assert len(hashes) == infos[-1].hashes > 50
    assert len(reads[0]) == 3  # every file read the first time
    assert len(reads[1]) == 1  # the second index reads none: one final progress report
    # the second index says it reused the machine's background, and when and how fast that was built
    assert (infos[0].reused, infos[1].reused) == (False, True)
    assert infos[1] == dataclasses.replace(infos[0], reused=True)
    assert infos[0].built
    assert infos[0].seconds > 0
    (public / "policy.py").write_text("x = 1\n")  # a changed file is a new background
    conn = open_index(tmp_path / "index-3.db")
    assert build_background(conn, [public]).hashes < infos[0].hashes
    conn.close()


def test_published_code_keeps_its_dependencies(tmp_path: Path) -> None:
    (tmp_path / "node_modules" / "dep").mkdir(parents=True)
    (tmp_path / "node_modules" / "dep" / "index.js").write_text("module.exports = 1\n")
    (tmp_path / "testdata").mkdir()
    (tmp_path / "testdata" / "case.go").write_text("package x\n")
    assert [c.path for c in candidates(tmp_path)] == ["testdata/case.go"]  # no node_modules
    assert [c.path for c in candidates(tmp_path, published=True)] == ["node_modules/dep/index.js"]


def test_an_index_whose_shared_background_vanished_builds_it_again(tmp_path: Path) -> None:
    public = tmp_path / "public"
    public.mkdir()
    for name in ("policy.py", "pipeline.py"):
        shutil.copy(own_source(name), public / name)
    conn = open_index(tmp_path / "code-index.db")
    build_background(conn, [public])
    assert background_to_build(conn) is None
    [(shared,)] = conn.execute("SELECT value FROM meta WHERE key = 'background_file'")
    assert Path(shared).parent == shared_directory()
    Path(shared).unlink()  # a cleaned user cache
    assert public_hashes(conn) == frozenset()
    assert background_to_build(conn) == [public.resolve()]
    conn.close()

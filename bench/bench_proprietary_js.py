"""Quality and speed of the proprietary-code matcher on real JavaScript installed here.

The JavaScript twin of ``bench_proprietary.py``: "proprietary" repositories are npm's own code
(the CLI's ``lib`` and the npm-org packages it ships in ``/usr/lib/node_modules/npm``);
unrelated same-domain code comes from independent packages shipped beside them, split by
package into a tuning half and a held-out half. Queries are excerpts of 5, 15 and 50 lines,
exact, renamed, reformatted, comment-edited and embedded in chat prose (with and without a
```js fence). Prints recall per kind and length, the FPR, the share of detections naming the
right file and lines, index speed (MB/s), index size per MB of source and query p50/p95.
Numbers are noisy on a shared 2-core machine.

    uv run python bench/bench_proprietary_js.py [--per-cell 60] [--seed 5] [-v]
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_proprietary as py

from egress_watch.classify.proprietary.background import build_background
from egress_watch.classify.proprietary.files import skipped_content, skipped_path
from egress_watch.classify.proprietary.index import open_index
from egress_watch.classify.proprietary.matcher import CodeMatch, Matcher, Thresholds
from egress_watch.classify.proprietary.prompt import code_regions
from egress_watch.classify.proprietary.repos import add_repo
from egress_watch.classify.proprietary.sources import python_stdlib
from egress_watch.classify.proprietary.tokenize import CLIKE, KEYWORDS

NPM = Path("/usr/lib/node_modules/npm")
# npm's own code (the npm/cli monorepo and npm-org packages), 1.5 MB: everything substantial
# the npm team wrote that is installed here with its sources outside dist/.
PROPRIETARY = (
    "lib", "@npmcli/arborist", "@npmcli/config", "@npmcli/package-json", "pacote", "cacache",
    "make-fetch-happen", "minipass-fetch", "npm-registry-fetch", "semver",
)  # fmt: skip
# Other authors (nodejs/undici, jsdiff, iconv-lite, jshttp, debug-js, ...), none with a match
# of 40+ tokens (the run prints any). Not negatives, by rule: npm-org packages and those of
# npm's maintainers (@npmcli/*, libnpm*, hosted-git-info, ...) may share code with the
# proprietary set, so they sit in BACKGROUND.
NEGATIVE_TUNE = ("undici", "debug", "jsonparse", "negotiator", "tiny-relative-date")
NEGATIVE_HELD_OUT = (
    "diff", "iconv-lite", "node-gyp", "http-cache-semantics", "safer-buffer", "just-diff",
)  # fmt: skip
# Not a negative: hosted-git-info (npm org): npm's lib/commands/repo.js copies its
# unknownHostedUrl(), 48-66 token matches. node-gyp, maintained by npm's team lately, and
# graceful-fs (npm's first author) showed no match of 40+ tokens over 160 excerpts each.
# Public JS the user has besides the Python stdlib (what `egress-watch index background
# node_modules` adds): the rest of npm's node_modules, packages in neither set above.
BACKGROUND = (
    "@npmcli/git", "@npmcli/fs", "@npmcli/agent", "@npmcli/run-script", "@npmcli/redact",
    "@npmcli/metavuln-calculator", "@npmcli/query", "@npmcli/map-workspaces",
    "@npmcli/installed-package-contents", "@npmcli/promise-spawn", "libnpmexec",
    "libnpmpublish", "libnpmdiff", "libnpmversion", "libnpmfund", "libnpmaccess", "libnpmpack",
    "npm-packlist", "npm-package-arg", "npm-pick-manifest", "npm-install-checks", "npm-profile",
    "npm-audit-report", "npm-bundled", "hosted-git-info", "nopt", "ssri", "bin-links",
    "ignore-walk", "init-package-json", "cmd-shim", "write-file-atomic", "fs-minipass",
    "graceful-fs", "chalk", "supports-color", "text-table", "archy", "qrcode-terminal",
    "spdx-expression-parse", "cssesc", "ms", "ci-info", "env-paths", "just-diff-apply",
    "fastest-levenshtein", "proggy", "treeverse", "promzard", "p-map", "ini", "which",
)  # fmt: skip
LENGTHS = py.LENGTHS
JS_SUFFIXES = (".js", ".cjs", ".mjs")


def root_of(package: str) -> Path:
    """Where a package (or npm's own ``lib``) lives."""
    return NPM / "lib" if package == "lib" else NPM / "node_modules" / package


def source_files(package: str) -> list[Path]:
    """The JavaScript files of a package that the index reads (not dist/, minified etc.)."""
    root = root_of(package)
    return sorted(
        p
        for p in root.rglob("*")
        if p.suffix in JS_SUFFIXES
        and not skipped_path(p.relative_to(root).as_posix())
        and skipped_content(p.read_bytes()) is None
    )


def excerpt(rng: random.Random, files: list[Path], lines: int) -> tuple[Path, int, str] | None:
    """A run of ``lines`` lines, 70 % of them JavaScript code, and its first line."""
    return py.excerpt(rng, files, lines, CLIKE)


_NAME = r"[A-Za-z_$][\w$]*"
_LITERAL = re.compile(
    r"(//[^\n]*|/\*[\s\S]*?(?:\*/|\Z)|`(?:[^`\\]|\\.)*`"
    r"|\"(?:[^\"\\\n]|\\.)*\"|'(?:[^'\\\n]|\\.)*')"
)
_DECLARED = re.compile(
    rf"\b(?:const|let|var)\s+({_NAME})|\bfunction\b\s*\*?\s*({_NAME})|\bclass\s+({_NAME})"
)
_PATTERN = re.compile(r"\b(?:const|let|var)\s*([{\[][^=]*?[}\]])\s*=")
_PARAMS = re.compile(
    rf"\bfunction\b\s*\*?\s*(?:{_NAME})?\s*\(([^()]*)\)"  # function declarations/expressions
    rf"|\(([^()]*)\)\s*=>|(?<![\w$.])({_NAME})\s*=>"  # arrow functions
    rf"|^[ \t]*(?:static\s+|async\s+|get\s+|set\s+)*\*?#?{_NAME}\s*\(([^()]*)\)\s*\{{"  # methods
    r"|\bcatch\s*\(([^()]*)\)",
    re.M,
)
_JS_WORDS_TEXT = """
    of async await get set static arguments require exports constructor prototype eval delete
    instanceof Promise Error Object Array Symbol Map Set JSON Number Buffer
"""
_JS_WORDS = frozenset(_JS_WORDS_TEXT.split())  # never renamed (not defined by an excerpt)


def _placeholders(code: str) -> tuple[str, list[str]]:
    """The code with every string, template and comment replaced by ``\\0N\\0`` (no newline
    inside), and the literals."""
    literals: list[str] = []

    def hide(match: re.Match[str]) -> str:
        literals.append(match.group())
        return f"\0{len(literals) - 1}\0"

    return _LITERAL.sub(hide, code), literals


def _restore(code: str, literals: list[str], edit: Callable[[str], str] = str) -> str:
    """Put the literals back, each through ``edit``."""
    return re.sub(r"\0(\d+)\0", lambda m: edit(literals[int(m.group(1))]), code)


def _pattern_names(pattern: str) -> set[str]:
    """The local names a parameter list or destructuring pattern binds (not property keys
    nor default values)."""
    names = set()
    for m in re.finditer(rf"(?:^|[,{{\[(])\s*(?:\.\.\.)?({_NAME})\s*(:)?", pattern):
        if m.group(2) is None:
            names.add(m.group(1))
    names |= set(re.findall(rf":\s*({_NAME})\s*(?=[,}}=]|$)", pattern))
    return names


def renamed(code: str) -> str:
    """Consistently rename the names the excerpt defines: ``const/let/var`` names (also
    destructured), functions, classes, parameters of functions, arrows, methods and catch.

    New names keep each old name's convention, as a person renaming would: ``MAX_SIZE`` ->
    ``ITEM3X``, ``ClassName`` -> ``Item3x``, ``variable`` -> ``item3x``. Like the Python
    renamer, every occurrence of a defined name in the code is renamed, property names
    included, and names merely used (``require``, ``obj.prop``) are not. Unlike it, string
    literals and comments stay as they are (``${...}`` in templates is code), as an editor's
    rename leaves them: else ``const glob = require('glob')`` would require another module.
    """
    hidden, literals = _placeholders(code)
    names = {n for groups in _DECLARED.findall(hidden) for n in groups if n}
    for pattern in _PATTERN.findall(hidden):
        names |= _pattern_names(pattern)
    for groups in _PARAMS.findall(hidden):
        for params in groups:
            names |= _pattern_names(params)
    names -= KEYWORDS | _JS_WORDS | {"_", "$"}
    if not names:
        return code
    new_names = {}
    for number, name in enumerate(sorted(names)):
        new = f"item{number}x"
        bare = name.lstrip("_$")
        if len(bare) > 1 and bare.isupper():
            new = new.upper()
        elif bare[:1].isupper():
            new = new.capitalize()
        new_names[name] = name[: len(name) - len(bare)] + new
    alternatives = "|".join(map(re.escape, sorted(names, key=len, reverse=True)))
    one_name = re.compile(rf"(?<![\w$])(?:{alternatives})(?![\w$])")

    def rename(text: str) -> str:
        return one_name.sub(lambda m: new_names[m.group()], text)

    def in_template(literal: str) -> str:
        if not literal.startswith("`"):
            return literal
        return re.sub(r"\$\{[^}]*\}", lambda m: rename(m.group()), literal)

    return _restore(rename(hidden), literals, in_template)


_OPERATOR = re.compile(r"[ \t]*(===|!==|==|!=|=>|[-+*/%&|^]=|&&|\|\||<=|>=|\+\+|--|=|\+|,)[ \t]*")
_NO_SEMICOLON_AFTER = re.compile(r"^\s*(?:if|for|while|else|do|switch|try|case|default)\b")


def reformatted(code: str) -> str:
    """Re-indent (2 spaces a level becomes 4, or 4 becomes 2), pad operators, double-quote
    plain single-quoted strings, and remove trailing semicolons where the excerpt has them
    or add them where it has none, as a formatter would: string contents stay as they are."""
    hidden, literals = _placeholders(code)
    lines = hidden.split("\n")
    indents = [len(ln) - len(ln.lstrip(" ")) for ln in lines if ln.strip()]
    wide = bool(indents) and all(n % 4 == 0 for n in indents) and any(indents)
    ends = [ln.rstrip() for ln in lines if ln.strip() and not ln.rstrip().endswith(("{", "}"))]
    has_semicolons = sum(ln.endswith(";") for ln in ends) * 2 > len(ends)
    out = []
    for number, line in enumerate(lines):
        stripped = line.lstrip(" ")
        depth = len(line) - len(stripped)
        indent = " " * (depth // 2 if wide else depth * 2)

        def pad(m: re.Match[str]) -> str:
            op = m.group(1)
            return op if op in ("++", "--") else f"{op} " if op == "," else f" {op} "

        body = _OPERATOR.sub(pad, stripped).rstrip()
        later = next((ln.strip() for ln in lines[number + 1 :] if ln.strip()), "")
        if has_semicolons:
            body = body.removesuffix(";").rstrip()
        elif (
            re.search(r"[\w$)\]]$|\0\d+\0$", body)
            and not _literal_is_comment(body, literals)
            and not _NO_SEMICOLON_AFTER.match(body)
            and not re.match(r"[.?:)\],+\-*/&|=]", later)
        ):
            body += ";"
        out.append(indent + body if body else "")
    return _restore("\n".join(out), literals, _double_quoted)


def _literal_is_comment(body: str, literals: list[str]) -> bool:
    """True when a line ends in a comment (a semicolon would go inside it)."""
    last = re.search(r"\0(\d+)\0$", body)
    return last is not None and literals[int(last.group(1))].startswith("/")


def _double_quoted(literal: str) -> str:
    """``'plain'`` as ``"plain"``; anything else (quotes or escapes inside) as it is."""
    if literal.startswith("'") and '"' not in literal and "\\" not in literal:
        return f'"{literal[1:-1]}"'
    return literal


def comment_edited(code: str) -> str:
    """Drop the excerpt's ``//`` comments and add new ones every third line."""
    hidden, literals = _placeholders(code)

    def no_line_comment(m: re.Match[str]) -> str:
        return "" if literals[int(m.group(1))].startswith("//") else m.group()

    out = []
    for number, line in enumerate(hidden.split("\n")):
        had_comment = "\0" in line
        line = re.sub(r"[ \t]*\0(\d+)\0", no_line_comment, line).rstrip()
        if had_comment and not line.strip():
            continue  # a whole-line comment
        if number % 3 == 1:
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f"{indent}// TODO(review): check this step against the spec")
        out.append(line)
    return _restore("\n".join(out), literals)


def embedded(code: str, rng: random.Random) -> str:
    """The excerpt inside a chat message, fenced as ```js half of the time."""
    return py.embedded(code, rng).replace("```python\n", "```js\n", 1)


KINDS: dict[str, Callable[[str, random.Random], str]] = {
    "exact": lambda c, _r: c,
    "renamed": lambda c, _r: renamed(c),
    "reformatted": lambda c, _r: reformatted(c),
    "comment-edited": lambda c, _r: comment_edited(c),
    "embedded": embedded,
}
assert tuple(KINDS) == tuple(py.KINDS)  # py.report walks py.KINDS


def main() -> None:
    """Build the index, run the queries, report."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--per-cell", type=int, default=60, help="queries per kind and length")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument(
        "-v", action="store_true", help="print each false positive and each 15+ line miss"
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-proprietary-js-"))
    try:
        run(args, random.Random(args.seed), workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def run(args: argparse.Namespace, rng: random.Random, workdir: Path) -> None:
    """Index, query and report, with every file under ``workdir``."""
    db = workdir / "code-index.db"
    conn = open_index(db)
    started = time.perf_counter()
    background = build_background(conn, [python_stdlib(), *(root_of(p) for p in BACKGROUND)])
    background_seconds = time.perf_counter() - started
    total_bytes, started = 0, time.perf_counter()
    for package in PROPRIETARY:
        total_bytes += add_repo(conn, root_of(package), package).bytes_read
    index_seconds = time.perf_counter() - started
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    public = py._table_bytes(conn, "background")
    conn.close()
    size = db.stat().st_size
    matcher = Matcher(db, Thresholds(raw=1, renamed=1, sure=1, min_score=0))
    timings: list[float] = []
    guessed: Counter[tuple[str, str]] = Counter()

    def query(text: str, kind: str = "") -> list[CodeMatch]:
        if kind:
            for region in code_regions(text):
                guessed[kind, region.language] += 1
        t0 = time.perf_counter()
        found = matcher.match(text)
        timings.append(time.perf_counter() - t0)
        return found

    corpus = py.Corpus(source_files, root_of, excerpt, KINDS, embedded)
    positives = py.positives_of(corpus, PROPRIETARY, args.per_cell, rng, query)
    big: Counter[str] = Counter()

    def seen(half: str, package: str, picked: py.Excerpt, found: list[CodeMatch]) -> None:
        big[package] += any(m.tokens >= 40 for m in found)
        hit = py.fires(found, Thresholds())
        if hit and args.v:
            print("FP", half, package, picked[0].name, picked[1], "->", hit)

    halves = (("tune", NEGATIVE_TUNE), ("held-out", NEGATIVE_HELD_OUT))
    negatives = py.negatives_of(corpus, halves, args.per_cell, rng, query, seen)

    defaults = Thresholds()
    if args.v:
        for kind, length, where, first, found in positives:
            if length >= 15 and not py.fires(found, defaults):
                best = [(m.tokens, m.exact_tokens, m.score) for m in found][:3]
                print("MISS", kind, length, where, first, best)
    print(
        f"== JavaScript, shipped defaults: {defaults.raw} exact tokens or {defaults.renamed} "
        f"tokens covering >= {defaults.min_score:.0%} of the query (less for longer exact "
        f"runs), or >= {defaults.sure} tokens =="
    )
    py.report(positives, negatives, defaults)
    print(
        f"\nbackground: {background.bytes / 1e6:.1f} MB of public code ({background.files} "
        f"files: the Python stdlib and {len(BACKGROUND)} npm dependencies) in "
        f"{background_seconds:.1f} s, {background.hashes} common k-grams"
    )
    py.index_summary(total_bytes, index_seconds, size, public, timings)
    print("\nlanguage guessed for the query's code (share read as Python):")
    for kind in KINDS:
        total = sum(n for (k, _), n in guessed.items() if k == kind)
        print(f"{kind:<16}{guessed[kind, 'python'] / max(1, total):>8.1%}")
    flagged = {p: n for p, n in big.items() if n}
    print(f"negatives with a 40+ token match: {flagged or 'none'}")


if __name__ == "__main__":
    main()

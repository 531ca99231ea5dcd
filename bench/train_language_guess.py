"""Learn the language guess's idiom weights from code installed here, and measure the guess.

The guess (``classify/proprietary/prompt.py``) counts idioms with ``str.count`` and adds
their weights per family (Python, Go, JavaScript/TypeScript, other C-like). This script takes
5-line excerpts of installed public code, half of the files to learn from and the other half
to measure on, fits the weights by multinomial logistic regression (plain Python, a few
seconds), prints the accuracy per language for the shipped table and the learned one, and with
``--write`` writes the learned table to ``egress_watch/classify/proprietary/guess_weights.py``.

Nothing is downloaded. Sources (each skipped when missing): this Python's standard library
and site-packages; Go from ``/usr/share/go-*/src`` and ``/usr/share/gocode``; JavaScript and
TypeScript from ``/usr/lib/node_modules`` and ``--node-modules``; Java from the JDK's
``src.zip``; C headers from ``/usr/include``. The frameworks ``bench_languages.py`` indexes
or queries are left out, so its figures stay independent of this training.

    uv run python bench/train_language_guess.py [--per-language 1500] [--write]
"""

from __future__ import annotations

import argparse
import math
import random
import re
import sys
import sysconfig
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from egress_watch.classify.proprietary import guess_weights
from egress_watch.classify.proprietary.prompt import IDIOM_CAP, guess_language, idiom_scores
from egress_watch.classify.proprietary.tokenize import CLIKE, GO, JS, PYTHON, tokenize

FAMILIES = (PYTHON, GO, JS, CLIKE)
_BENCH_TEXT = """flask werkzeug tornado bottle falcon pyramid starlette sanic aiohttp gin echo chi
    fasthttp mux negroni websocket handlers fastify koa express restify @hapi spdy connect
    formidable qs pino"""
BENCH_SETS = frozenset(_BENCH_TEXT.split())
"""Frameworks bench_languages.py indexes or queries: never learned from."""

CANDIDATES = (
    ':\n', 'def ', 'self.', 'self)', 'self,', 'None', 'True', 'False', 'elif ', '"""', "'''",
    ' not ', ' and ', ' or ', '  # ', '\n#', ' is ', 'lambda', 'f"', "f'", 'raise ', '__',
    'print(', 'with ', ' as ', 'case ', 'except ', 'try:', 'import ', 'from ', ' in ', 'pass\n',
    'yield ', 'cls', '@', 'return\n', '):\n', '=None', ', *', '**', 'kwargs', 'args', 'dict(',
    'list(', 'len(', 'isinstance(', '.append(', '.items()', 'assert', '{\n', '}\n', ';\n', ':= ',
    '\nfunc ', 'func(', 'func ', 'nil', 'err ', 'err != nil', 'package ', 'fmt.', 'defer ',
    'chan ', 'go ', '[]', 'struct', ') error', 't.Error', 't.Fatal', 'range ', 'make(', 'int64',
    'uint', 'byte', 'string', '*', '&', 'map[', 'interface{}', 'type', 'errors.', 'return nil',
    ', err', 'err)', ':= range', ') {\n', '} else {', 'var ', 'const ', 'let ', '=>', '===', '!==',
    'function', 'this.', 'require(', 'undefined', 'async ', 'await ', 'console.', 'export ',
    'module.exports', 'Promise', 'typeof ', "'", 'null', 'process.', '${', '?.', '...', 'throw ',
    'public ', 'private ', 'protected ', 'static ', 'void ', 'final ', '@Override', '#include',
    'std::', '->', 'NULL', 'sizeof', 'String ', 'int ', 'boolean ', 'extends ', 'implements ',
    'throws ', 'System.', 'char ', 'unsigned ', '#define', 'new ', '@Test', 'describe(', 'it(',
    'expect(', ': string', ': number', ': boolean', '//', '/*', ' * ', ').', ': true', ': false',
    'Object.', 'prototype', 'exports', 'JSON.', 'Array', '.then(', '.catch(', 'cb(', 'callback',
    '(err', 'function (', 'function(', ') =>', 'async (', 't.equal', 't.same', 't.plan', 'assert.',
    'done()', 'test(', '=== undefined', 'export default', "from '", '<T>', 'readonly',
    'interface ', '=> {', "'use strict'", '.length', '.push(', 'return this', 'new Error(',
    'throw new', 'catch (', '} catch', 'for (', 'for (int', 'for (const', 'for (let', 'if (',
    'if (!', 'while (', '== null', '!= null', 'instanceof ', 'List<', 'Map<', '<>', 'Integer',
    'Long', '@param', '@return', '@SuppressWarnings', 'synchronized', 'class ', 'abstract ',
    'import java', 'java.', 'javax.', '.size()', '.get(', '.equals(', 'boolean', 'Object', 'this,',
    '(int', '(String', '(long', 'double ', 'float ', 'try {', 'finally {', '@Nullable', 'Override',
    '}\n\n', ');\n', ';\n}', '\n    }', '\n  }', 'enum ', 'switch (', 'default:', 'break;',
    'continue;', '&&', '!', 'goto', 'uint8', 'int32', 'append(', 'copy(', 'new(', 'cap(',
    'go func', 'select {', 'case <-', '<-', 'sync.', 'context.', 'http.', 'strings.', 'bytes.',
    'io.', 'os.', 't.Run(', 't.Helper()', 'tt.', 'tc.', 'want', 'got', ':=\n', 'func (', ') (',
    '*testing.T', 'static final', 'private static', 'public static', 'public void', 'private void',
    'String[]', 'int[]', 'byte[]', 'size_t', 'struct ', 'typedef', '#if', '#endif', 'unsigned int',
    'const char', '&&\n', '::', 'template<', 'namespace', '||', 'null ||', '??', '\n\t', '  ',
    '    ', '\t\t',
)  # fmt: skip
"""Strings the guess may count; the learning keeps those that tell families apart."""


def sources(node_modules: Path) -> Iterator[tuple[str, str, str]]:
    """(family, name, text) of every installed public source file, bench frameworks left out."""
    paths = sysconfig.get_paths()
    for root in (Path(paths["stdlib"]), Path(paths["purelib"])):
        for path in sorted(root.rglob("*.py")):
            if path.is_file() and not BENCH_SETS.intersection(path.relative_to(root).parts):
                yield PYTHON, str(path), path.read_text(errors="replace")
    go_roots = [*sorted(Path("/usr/share").glob("go-*/src"))[-1:], Path("/usr/share/gocode/src")]
    for root in go_roots:
        for path in sorted(root.rglob("*.go")) if root.exists() else []:
            parts = path.relative_to(root).parts
            if path.is_file() and not BENCH_SETS.intersection(parts) and "testdata" not in parts:
                yield GO, str(path), path.read_text(errors="replace")
    for root in (Path("/usr/lib/node_modules"), node_modules):
        for path in sorted(root.rglob("*")) if root.exists() else []:
            rel = path.relative_to(root).parts
            wanted = path.suffix in (".js", ".mjs", ".cjs", ".ts") and path.is_file()
            if wanted and not path.name.endswith(".d.ts") and not BENCH_SETS.intersection(rel):
                yield JS, str(path), path.read_text(errors="replace")
    for archive in [p for p in sorted(Path("/usr/lib/jvm").glob("*/lib/src.zip")) if p.is_file()][
        :1
    ]:
        with zipfile.ZipFile(archive) as zipped:
            for name in zipped.namelist()[::7]:
                if name.endswith(".java"):
                    yield CLIKE, name, zipped.read(name).decode(errors="replace")
    for path in sorted(Path("/usr/include").rglob("*.h"))[::3]:
        if path.is_file():
            yield CLIKE, str(path), path.read_text(errors="replace")


def five_lines(text: str, family: str, rng: random.Random) -> str | None:
    """A 5-line excerpt with at least 4 lines of code (what a pasted snippet looks like)."""
    lines = text.split("\n")
    if len(lines) < 8:
        return None
    code_lines = set(tokenize(text, family).lines)
    for _ in range(10):
        start = rng.randrange(0, len(lines) - 5)
        if sum(1 for n in range(start + 1, start + 6) if n in code_lines) >= 4:
            return "\n".join(lines[start : start + 5])
    return None


def samples(
    args: argparse.Namespace, rng: random.Random
) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """(family index, excerpt) for learning and for measuring, split by file."""
    by_half: tuple[dict[str, list[str]], dict[str, list[str]]] = ({}, {})
    for family, name, text in sources(Path(args.node_modules)):
        half = by_half[zlib.crc32(name.encode()) % 2]
        half.setdefault(family, []).append(text)
    out: tuple[list[tuple[int, str]], list[tuple[int, str]]] = ([], [])
    for half, texts in zip(out, by_half, strict=True):
        for index, family in enumerate(FAMILIES):
            files = texts.get(family, [])
            rng.shuffle(files)
            taken = 0
            for text in files:
                excerpt = five_lines(text, family, rng)
                if excerpt is not None:
                    half.append((index, excerpt))
                    if half is out[0]:  # learn what survives a re-indenting editor too
                        half.append((index, respaced(excerpt)))
                    taken += 1
                    if taken >= args.per_language:
                        break
    return out


def respaced(code: str) -> str:
    """The excerpt as a careless editor leaves it: tabs as four spaces, four spaces as two,
    operators padded (indentation and spacing are no evidence of a language)."""
    code = code.replace("\t", "    ")
    if "    " in code:
        code = code.replace("    ", "  ")
    return re.sub(r"[ \t]*(:=|==|!=|=|\+|,)[ \t]*", lambda m: f" {m.group(1)} ", code)


def features(text: str, idioms: list[str]) -> list[tuple[int, float]]:
    """Non-zero (feature, count) pairs of a snippet, as the guess counts them."""
    sample = "\n" + text[:4000]
    found = [(i, float(min(sample.count(idiom), IDIOM_CAP))) for i, idiom in enumerate(idioms)]
    found = [(i, n) for i, n in found if n]
    if not any(mark in sample for mark in "{};"):
        found.append((len(idioms), 1.0))
    found.append((len(idioms) + 1, 1.0))  # bias
    return found


def learn(
    data: list[tuple[int, list[tuple[int, float]]]], width: int, epochs: int, rng: random.Random
) -> list[list[float]]:
    """Multinomial logistic regression by SGD with L2 (weights[feature][family]), averaged
    over the epochs of the second half (steadier than the last step's weights)."""
    weights = [[0.0] * len(FAMILIES) for _ in range(width)]
    average = [[0.0] * len(FAMILIES) for _ in range(width)]
    rate, l2 = 0.02, 1e-4
    for epoch in range(epochs):
        rng.shuffle(data)
        step = rate / (1 + epoch * 0.1)
        for label, feats in data:
            scores = [sum(weights[i][f] * n for i, n in feats) for f in range(len(FAMILIES))]
            top = max(scores)
            exps = [math.exp(s - top) for s in scores]
            total = sum(exps)
            for f in range(len(FAMILIES)):
                gradient = exps[f] / total - (f == label)
                for i, n in feats:
                    row = weights[i]
                    row[f] -= step * (gradient * n + l2 * row[f])
        if epoch >= epochs // 2:
            for row, mean in zip(weights, average, strict=True):
                for f in range(len(FAMILIES)):
                    mean[f] += row[f] / (epochs - epochs // 2)
    return average


def accuracy(test: list[tuple[int, str]], guess: object) -> str:
    """Accuracy per family and the main confusions."""
    right: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    wrong: Counter[tuple[str, str]] = Counter()
    for label, text in test:
        family = FAMILIES[label]
        got = guess(text)  # type: ignore[operator]
        seen[family] += 1
        if got == family:
            right[family] += 1
        else:
            wrong[(family, got)] += 1
    cells = [f"{f} {right[f] / max(1, seen[f]):.1%} ({seen[f]})" for f in FAMILIES]
    worst = ", ".join(f"{a}->{b} {n}" for (a, b), n in wrong.most_common(4))
    return "  ".join(cells) + f"  | all {sum(right.values()) / len(test):.1%}; {worst}"


def write_table(idioms: list[str], weights: list[list[float]]) -> None:
    """The learned table as a Python module (data only)."""
    rows = []
    for idiom, row in zip(idioms, weights, strict=False):
        if max(abs(w) for w in row) >= 0.05:
            rows.append(f"    {idiom!r}: ({', '.join(f'{w:.2f}' for w in row)}),")
    no_braces, bias = weights[len(idioms)], weights[len(idioms) + 1]
    target = Path(guess_weights.__file__)
    target.write_text(
        '"""Idiom weights of the language guess, learned by bench/train_language_guess.py from\n'
        "installed public code (not the bench's frameworks); regenerate, do not edit.\n\n"
        'Each idiom: its weight for (Python, Go, JavaScript/TypeScript, other C-like)."""\n\n'
        "IDIOMS: dict[str, tuple[float, float, float, float]] = {\n"
        + "\n".join(rows)
        + "\n}  # fmt: skip\n"
        + f"NO_BRACES = ({', '.join(f'{w:.2f}' for w in no_braces)})\n"
        + f"BIAS = ({', '.join(f'{w:.2f}' for w in bias)})\n"
    )
    print(f"wrote {len(rows)} idioms to {target}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--per-language", type=int, default=1500)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--node-modules",
        default=str(Path.home() / ".cache" / "egress-watch" / "bench" / "node" / "node_modules"),
    )
    parser.add_argument("--write", action="store_true", help="write guess_weights.py")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    train, test = samples(args, rng)
    print(f"{len(train)} excerpts to learn from, {len(test)} to measure on", file=sys.stderr)
    print("shipped table :", accuracy(test, guess_language))
    idioms = list(CANDIDATES)
    data = [(label, features(text, idioms)) for label, text in train]
    weights = learn(data, len(idioms) + 2, args.epochs, rng)

    def learned(text: str) -> str:
        table = {i: (w[0], w[1], w[2], w[3]) for i, w in zip(idioms, weights, strict=False)}
        scores = idiom_scores("\n" + text[:4000], table)
        nb = weights[len(idioms)]
        bias = weights[len(idioms) + 1]
        if not any(mark in text for mark in "{};"):
            scores = [s + b for s, b in zip(scores, nb, strict=True)]
        scores = [s + b for s, b in zip(scores, bias, strict=True)]
        return FAMILIES[max(range(len(FAMILIES)), key=scores.__getitem__)]

    print("learned table :", accuracy(test, learned))
    if args.write:
        write_table(idioms, weights)


if __name__ == "__main__":
    main()

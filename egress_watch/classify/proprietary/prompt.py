"""Find the code inside chat text: fenced blocks when there are fences, else non-prose lines.

Lexing a whole prompt lets an apostrophe in prose open a string that swallows the code, so
prose lines are blanked (offsets kept) and the language is guessed before tokenizing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from egress_watch.classify.proprietary.guess_weights import BIAS, IDIOMS
from egress_watch.classify.proprietary.idiom_counts import IdiomCounter, weighted
from egress_watch.classify.proprietary.tokenize import (
    CLIKE,
    GENERIC,
    GO,
    HASH,
    JS,
    KEYWORDS,
    PYTHON,
    RUST,
)

FENCE = re.compile(r"^[ \t]*(```+|~~~+)[ \t]*([\w+#.-]*)[^\n]*\n(.*?)^[ \t]*\1[ \t]*$", re.M | re.S)
TAGS = {
    "python": PYTHON, "py": PYTHON, "python3": PYTHON, "pycon": PYTHON,
    "rust": RUST, "rs": RUST,
    "go": GO, "golang": GO,
    "js": JS, "javascript": JS, "jsx": JS, "ts": JS, "typescript": JS, "tsx": JS, "node": JS,
    "mjs": JS, "cjs": JS,
    "bash": HASH, "sh": HASH, "shell": HASH, "ruby": HASH, "rb": HASH,
}  # fmt: skip
_CLIKE_TAG_TEXT = "java c cpp c++ h hpp cs csharp kotlin kt swift php scala dart objc"
CLIKE_TAGS = frozenset(_CLIKE_TAG_TEXT.split())
# Idioms counted with str.count (C speed: guessing runs on every region of every request),
# each with its weight for (Python, Go, JavaScript/TypeScript, other C-like). Hand-set
# weights, counted as often as idioms occur, choose among Python, Go and braced code; weights
# learned on 5-line excerpts (guess_weights.py, each idiom counted at most IDIOM_CAP times,
# scaled down for texts longer than the excerpts they were learned on) then tell JavaScript
# from Java and the other C-like languages, which the hand-set ones confused most.
_PY, _GO, _JS, _CL = range(4)
_FAMILIES = (PYTHON, GO, JS, CLIKE)
IDIOM_CAP = 4
LEARNED_LINES = 6
"""Texts of more lines than this weigh the learned table by LEARNED_LINES / lines."""
_HAND: dict[str, tuple[float, float, float, float]] = {
    ":\n": (3, 0, 0, 0), "def ": (3, 0, 0, 0), "self.": (2, 0, 0, 0), "self)": (2, 0, 0, 0),
    "self,": (2, 0, 0, 0), "None": (2, 0, 0, 0), "True": (1, 0, 0, 0), "False": (1, 0, 0, 0),
    "elif ": (3, 0, 0, 0), '"""': (2, 0, 0, 0), "'''": (2, 0, 0, 0), " not ": (1, 0, 0, 0),
    " and ": (1, 0, 0, 0), " or ": (1, 0, 0, 0), "  # ": (1, 0, 0, 0), "\n#": (1, 0, 0, 0),
    " is ": (1, 0, 0, 0), "lambda": (1, 0, 0, 0), 'f"': (1, 0, 0, 0), "raise ": (2, 0, 0, 0),
    "__": (1, 0, 0, 0), "print(": (1, 0, 0, 0), "with ": (1, 0, 0, 0), "case ": (-3, 0, 0, 0),
    "{\n": (-1, 1, 1, 1), "}\n": (-1, 1, 1, 1), ";\n": (-1, -1, 1, 1.5), "\n\t": (-1, 2, 0, 0.5),
    ":= ": (-1, 3, 0, 0), "\nfunc ": (0, 3, 0, 0), "func(": (0, 1, 0, 0), "nil": (0, 3, 0, 0),
    "err ": (0, 1, 0, 0), "package ": (0, 1, 0, 1), "fmt.": (0, 2, 0, 0), "defer ": (0, 3, 0, 0),
    "chan ": (0, 2, 0, 0), "[]": (0, 1, 0.3, 0), "struct": (0, 1, 0, 1), ") error": (0, 2, 0, 0),
    "t.Error": (0, 3, 0, 0), "t.Fatal": (0, 3, 0, 0), "range ": (0, 2, 0, 0), "make(": (0, 2, 0, 0),
    "int64": (0, 1, 0, 0.5), "uint": (0, 1, 0, 0.5), "byte": (0, 1, 0, 0.5), "*": (0, 0.3, 0, 0.3),
    "string": (0, 1, 0, 0), "&": (0, 0.5, 0, 0.5), "const ": (0, 0, 2, 0), "let ": (0, 0, 2, 0),
    "var ": (0, 1, 1, 0), "=>": (0, 0, 3, 0), "===": (0, 0, 3, 0), "!==": (0, 0, 3, 0),
    "function": (0, 0, 3, 0), "this.": (0, 0, 2, 1), "require(": (0, 0, 3, 0),
    "undefined": (0, 0, 3, 0), "async ": (1, 0, 1, 0), "await ": (1, 0, 1, 0),
    "console.": (0, 0, 3, 0), "export ": (0, 0, 2, 0), "module.exports": (0, 0, 3, 0),
    "Promise": (0, 0, 2, 0), "typeof ": (0, 0, 2, 0), "'": (0.3, 0, 0.3, 0), "null": (0, 0, 1, 1),
    "process.": (0, 0, 2, 0), "${": (0, 0, 2, 0), "?.": (0, 0, 2, 0), "...": (0, 0, 1, 0),
    "throw ": (0, 0, 1, 1), "public ": (0, 0, 0, 3), "private ": (0, 0, 0.5, 2),
    "protected ": (0, 0, 0, 3), "static ": (0, 0, 1, 1.5), "void ": (0, 0, 0, 3),
    "final ": (0, 0, 0, 3), "@Override": (0, 0, 0, 3), "#include": (0, 0, 0, 5),
    "std::": (0, 0, 0, 3), "->": (0.5, 0, 0, 1), "NULL": (0, 0, 0, 3), "sizeof": (0, 0, 0, 3),
    "String ": (0, 0, 0, 2), "int ": (0, 0, 0, 2), "boolean ": (0, 0, 0, 3),
    "extends ": (0, 0, 1, 1), "implements ": (0, 0, 0, 3), "throws ": (0, 0, 0, 3),
    "System.": (0, 0, 0, 3), "char ": (0, 0, 0, 2), "unsigned ": (0, 0, 0, 3),
    "#define": (0, 0, 0, 4), "new ": (0, 0, 1, 1), "@Test": (0, 0, 0, 3), "describe(": (0, 0, 2, 0),
    "it(": (0, 0, 1, 0), "expect(": (0, 0, 1, 0), ": string": (0, 0, 1, 0), "//": (-1, 0, 0, 0),
    "/*": (-3, 1, 1, 1), ").": (0, 0, 0.5, 0), ": true": (0, 0, 1, 0), ": false": (0, 0, 1, 0),
    "Object.": (0, 0, 1.5, 0), "prototype": (0, 0, 2, 0), "exports": (0, 0, 2, 0),
    "interface{}": (0, 3, 0, 0), "map[": (0, 2, 0, 0),
    "://": (1, 0, 0, 0),  # a URL's // is no comment: it takes back what "//" cost Python
}  # fmt: skip
_COUNTER = IdiomCounter([*_HAND, *IDIOMS])
_RUST_HINTS = ("fn ", "let mut ", "impl ", "impl<", "&'")
_RUST_IDIOM = re.compile(
    r"\bfn \w+\s*[<(]|\blet mut |\bimpl\b[^\n]*\{|&'\w|\bpub fn\b|\w::<|\bmatch \w+ \{"
)
RUST_IDIOMS_NEEDED = 2
"""Rust idioms that make a region Rust (one ``fn x(`` may be a Python loop's ``fn(``)."""
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")
_CANDIDATE_LINE = re.compile(r"^[^(){}\[\]=;<>\n]{16,}$", re.M)
_STRING_LINE = re.compile(r"""\s*[rRbBuUfF]{0,2}(["'`]).*\1\s*[,+\\:]?\s*$""")
"""A line holding one string literal (a message split over lines), possibly continued."""


GUESS_CHARS = 4000  # the language of a long text is guessed from its start
_BLANK_LINES = re.compile(r"[ \t]*\n(?:[ \t]*\n)*")


@dataclass(frozen=True, slots=True)
class Region:
    """A stretch of code inside a text: where it starts, the code, its tokenizer family."""

    offset: int
    code: str
    language: str
    others: tuple[str, ...] = ()
    """Families that scored nearly as well (an ambiguous guess), tried in turn when
    ``language`` finds nothing; empty when the guess was clear or the family was named."""
    named: bool = False
    """The family was named (a fence tag, the caller), not guessed: no other is tried."""


def guess_language(code: str, indexed: frozenset[str] | None = None) -> str:
    """The tokenizer family a snippet most likely needs, from its idioms (counted in C)."""
    return guess_families(code, indexed)[0]


def guess_families(code: str, indexed: frozenset[str] | None = None) -> list[str]:
    """The likeliest family, then the others that scored within ``AMBIGUOUS`` of it.

    JavaScript and the other C-like languages are told apart by idioms alone (their code
    has the same shape): when ``indexed`` (the families an index holds) has only one of
    the two, a region guessed as the other is read as the one indexed. Other families the
    index does not hold are left out.
    """
    ranked = _ranked(code)
    out: list[str] = []
    for family, score in ranked:
        if indexed is not None and family in _TWINS and family not in indexed:
            family = _TWINS[family] if _TWINS[family] in indexed else family
        if family not in out and (not out or ranked[0][1] - score <= AMBIGUOUS):
            out.append(family)
    return out[:1] + [f for f in out[1:] if indexed is None or f in indexed]


AMBIGUOUS = 3.0
"""Score gap under which another family is tried too (when the first finds nothing)."""


_TWINS = {JS: CLIKE, CLIKE: JS}


def _ranked(code: str) -> list[tuple[str, float]]:
    """The families, best first, with their idiom scores (Rust alone when it shows).

    Lines left blank (prose blanked out of a chat message) are dropped first: their spaces
    would read as indentation.
    """
    squeezed = _BLANK_LINES.sub("\n", code[: 4 * GUESS_CHARS] + "\n").lstrip("\n")
    sample = "\n" + squeezed[:GUESS_CHARS]
    if any(hint in sample for hint in _RUST_HINTS) and (
        len(_RUST_IDIOM.findall(sample)) >= min(RUST_IDIOMS_NEEDED, 1 + len(sample) // 400)
    ):
        return [(RUST, 0.0)]
    counts = _COUNTER.counts(sample)  # both tables' idioms, each counted once
    totals = weighted(counts, _HAND, cap=None)
    if not any(mark in sample for mark in "{};"):  # no braces, no semicolons
        totals[_PY] += 3
    # JavaScript or other C-like code: the learned table settles which.
    learned = weighted(counts, IDIOMS, IDIOM_CAP)
    weight = min(1.0, LEARNED_LINES / (sample.count("\n") or 1))
    lead = weight * (learned[_JS] + BIAS[_JS] - learned[_CL] - BIAS[_CL])
    braced = max(totals[_JS], totals[_CL])
    totals[_JS], totals[_CL] = (braced, braced - lead) if lead >= 0 else (braced + lead, braced)
    # A tie goes to JavaScript, the commonest code pasted without telling idioms.
    return sorted(zip(_FAMILIES, totals, strict=True), key=lambda p: (-p[1], p[0] != JS))


def idiom_scores(
    sample: str,
    table: dict[str, tuple[float, float, float, float]],
    cap: int | None = IDIOM_CAP,
) -> list[float]:
    """Each family's total weight of the idioms found in ``sample`` (each counted at most
    ``cap`` times)."""
    return weighted({idiom: sample.count(idiom) for idiom in table}, table, cap)


def code_regions(
    text: str, language: str | None = None, indexed: frozenset[str] | None = None
) -> list[Region]:
    """The code regions of a prompt or file; ``language`` forces the tokenizer family;
    ``indexed`` (the families an index holds) settles JavaScript versus other C-like code."""
    out = []
    rest = text
    for match in FENCE.finditer(text):
        code = match.group(3)
        tag = match.group(2).lower()
        lang = language or TAGS.get(tag) or (CLIKE if tag in CLIKE_TAGS else None)
        out.append(_region(match.start(3), code, lang, indexed))
        rest = rest[: match.start()] + _blank(match.group()) + rest[match.end() :]
    rest = _blank_prose(rest)
    if rest.strip():
        out.append(_region(0, rest, language, indexed))
    return out


def _region(offset: int, code: str, named: str | None, indexed: frozenset[str] | None) -> Region:
    """A region in its named family, else in its guessed one (and a close runner-up)."""
    if named:
        return Region(offset, code, named, named=True)
    families = guess_families(code, indexed)
    return Region(offset, code, families[0], tuple(families[1:]))


def _blank(text: str) -> str:
    """Spaces instead of every character but newlines, so offsets and lines stay put."""
    return "\n".join(" " * len(line) for line in text.split("\n"))


def _blank_prose(text: str) -> str:
    """The text with English-looking lines replaced by spaces (offsets unchanged).

    One regex pass finds the candidate lines (long, no code punctuation); only those are
    looked at word by word.
    """
    pieces = []
    done = 0
    for match in _CANDIDATE_LINE.finditer(text):
        if _is_prose(match.group()):
            pieces += [text[done : match.start()], " " * (match.end() - match.start())]
            done = match.end()
    if not pieces:
        return text
    pieces.append(text[done:])
    return "".join(pieces)


def _is_prose(line: str) -> bool:
    """A sentence rather than code (the line has no code punctuation): several words, no
    keyword first."""
    if '"""' in line or "'''" in line:  # a docstring's first line: blanking it would
        return False  # drop the opening quotes and invert every string after it
    if _STRING_LINE.match(line):  # a string literal on its own line (a long message)
        return False
    words = _WORD.findall(line)
    if len(words) < 4:
        return False
    if words[0] in KEYWORDS or line.rstrip().endswith((",", "\\")):
        return False
    stripped = line.strip()
    return stripped.endswith((".", "?", "!")) or len(words) >= 6 or stripped[:1].isupper()


__all__ = ["GENERIC", "Region", "code_regions", "guess_language"]

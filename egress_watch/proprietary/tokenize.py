"""One fast regex tokenizer per comment/string style, and the two normalised token channels.

Comments, whitespace, docstrings, ``;`` and trailing commas are dropped; literal *values* are
kept (quotes normalised) because without them chance alignments are common.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePath

PYTHON = "python"
CLIKE = "clike"
RUST = "rust"
HASH = "hash"  # shell, ruby, perl, yaml-ish: '#' comments
GENERIC = "generic"

EXTENSIONS: dict[str, str] = {
    ".py": PYTHON, ".pyi": PYTHON,
    ".js": CLIKE, ".mjs": CLIKE, ".cjs": CLIKE, ".jsx": CLIKE, ".ts": CLIKE, ".tsx": CLIKE,
    ".mts": CLIKE, ".go": CLIKE, ".java": CLIKE, ".kt": CLIKE, ".scala": CLIKE, ".c": CLIKE,
    ".h": CLIKE, ".cc": CLIKE, ".cpp": CLIKE, ".cxx": CLIKE, ".hpp": CLIKE, ".hh": CLIKE,
    ".cs": CLIKE, ".swift": CLIKE, ".php": CLIKE, ".dart": CLIKE, ".m": CLIKE,
    ".rs": RUST,
    ".sh": HASH, ".bash": HASH, ".rb": HASH, ".pl": HASH, ".r": HASH, ".ex": HASH,
    ".sql": GENERIC, ".lua": GENERIC,
}  # fmt: skip

_OPS = (
    r"(?P<op>>>>=|<<=|>>=|\*\*=|\.\.\.|===|!==|=>|->|::|\+\+|--|&&|\|\||<=|>=|==|!="
    r"|[-+*/%&|^<>]=|<<|>>|\*\*|//|\S)"
)
_STR = r"""(?P<str>[rRbBuUfFL]{0,2}"(?:[^"\\\n]|\\.)*"|[rRbBuUfF]{0,2}'(?:[^'\\\n]|\\.)*')"""
_RUST_STR = r"""(?P<str>b?"(?:[^"\\]|\\.)*"|b?'(?:\\.[^'\n]{0,8}|[^'\\\n])')"""
_COMMON_TAIL = r"(?P<num>\d[\w.]*|\.\d\w*)|(?P<id>[A-Za-z_$\x80-\uffff][\w$\x80-\uffff]*)|" + _OPS
_NL_WS = r"(?P<nl>\n)|"
# Import statements are boilerplate on both sides of a match: they are dropped like comments.
_PY_IMPORT = (
    r"(?P<imp>(?:from[ \t]+[\w.]+[ \t]+)?import\b"
    r"(?:[^\n(\\]*\([^)]*\)|[^\n\\]*(?:\\\n[^\n\\]*)*))|"
)
_CLIKE_IMPORT = (
    r"(?P<imp>\#[ \t]*(?:include|import)\b[^\n]*"
    r"|import[ \t]*\([ \t]*\n[^)]*\)"  # Go's import ( ... )
    r"|import\b[^;\n(]*?(?:\{[^}]*\}[^;\n]*?)?(?:\bfrom[ \t]*(?:'[^'\n]*'|\"[^\"\n]*\")|;)"
    r"|import[ \t]+[^;\n(]+(?=\n)"
    r"|package[ \t]+[\w.]+[ \t]*;?(?=[ \t]*\n)"
    r"|(?:const|let|var)[ \t]+[\w$]+[ \t]*=[ \t]*require\([^)\n]*\)[\w$.]*;?"  # CommonJS
    r"|(?:const|let|var)[ \t]*\{[^}]*\}[ \t]*=[ \t]*require\([^)\n]*\)[\w$.]*;?)|"
)
_RUST_IMPORT = r"(?P<imp>(?:pub(?:\([^)]*\))?[ \t]+)?use[ \t]+[^;]*;|extern[ \t]+crate[^;]*;)|"
_BLOCK = r"(?P<com>/\*[\s\S]*?(?:\*/|\Z)|//[^\n]*)|"
_PATTERNS = {
    PYTHON: _NL_WS
    + _PY_IMPORT
    + r"(?P<com>\#[^\n]*)|"
    + r"(?P<tri>[rRbBuUfF]{0,2}(?:\"\"\"[\s\S]*?(?:\"\"\"|\Z)|'''[\s\S]*?(?:'''|\Z)))|"
    + _STR + "|" + _COMMON_TAIL,
    CLIKE: _NL_WS + _CLIKE_IMPORT + _BLOCK
    + r"(?P<tri>`(?:[^`\\]|\\.)*`)|" + _STR + "|" + _COMMON_TAIL,
    RUST: _NL_WS + _RUST_IMPORT + _BLOCK
    + r"(?P<tri>r\#*\"[\s\S]*?\"\#*)|" + _RUST_STR + "|" + _COMMON_TAIL,
    HASH: _NL_WS + r"(?P<com>\#[^\n]*)|" + _STR + "|" + _COMMON_TAIL,
    GENERIC: _NL_WS + r"(?P<com>/\*[\s\S]*?(?:\*/|\Z)|//[^\n]*|\#[^\n]*|--[^\n]*)|"
    + _STR + "|" + _COMMON_TAIL,
}  # fmt: skip
_COMPILED = {
    lang: re.compile(r"[ \t\r\f\v]*(?:" + pattern + ")") for lang, pattern in _PATTERNS.items()
}

_KEYWORD_TEXT = """
    and as assert async await break case catch class const continue def default defer del do
    elif else enum except export extends false final finally fn for from func function go goto
    if impl import in instanceof interface is lambda let loop match mod module mut namespace new
    nil none not null or package pass private protected pub public raise return select self
    static struct super switch this throw throws trait true try type typeof undefined union
    unsafe use var void where while with yield None True False Self int str bool float dict list
    tuple set len print range isinstance bytes object string err error nullptr auto char long
    short unsigned signed double byte boolean chan map interface{} make append println printf
"""
KEYWORDS = frozenset(_KEYWORD_TEXT.split())
DROPPED = frozenset({";"})
CLOSERS = frozenset({")", "]", "}"})


@dataclass(frozen=True, slots=True)
class Tokens:
    """Normalised tokens of one text, with the 1-based line and character offset of each."""

    values: list[str]
    lines: list[int]
    starts: list[int]
    ends: list[int]


def language_of(path: str) -> str | None:
    """The tokenizer family for a file name, or None when it is not source code we index."""
    return EXTENSIONS.get(PurePath(path).suffix.lower())


def tokenize(text: str, language: str = GENERIC, offsets: bool = True) -> Tokens:
    """Split ``text`` into normalised tokens; comments, whitespace and docstrings are dropped.

    Without ``offsets`` the character spans are not recorded (``starts``/``ends`` stay empty),
    which is faster for indexing.
    """
    values: list[str] = []
    lines: list[int] = []
    starts: list[int] = []
    ends: list[int] = []
    add_value, add_line, add_start, add_end = (
        values.append,
        lines.append,
        starts.append,
        ends.append,
    )
    line = 1
    line_start = True
    docstrings = language == PYTHON
    for match in _COMPILED.get(language, _COMPILED[GENERIC]).finditer(text):
        kind = match.lastgroup
        if kind == "nl":
            line += 1
            line_start = True
            continue
        if kind is None:  # trailing whitespace at the end of the text
            continue
        token = match.group(kind)
        if kind == "op" or kind == "id" or kind == "num":
            if token in DROPPED:
                line_start = False
                continue
            if token in CLOSERS and values and values[-1] == ",":
                values.pop()
                lines.pop()
                if offsets:
                    starts.pop()
                    ends.pop()
            add_value(token)
            add_line(line)
        elif kind == "str":
            body = token.lstrip("rRbBuUfFL")
            add_value('"' + body[1:-1])
            add_line(line)
            line += body.count("\n")  # Rust strings may span lines
        elif kind == "com" or kind == "imp":
            line += token.count("\n")
            continue
        else:  # "tri": triple-quoted, backtick or raw string, possibly multi-line
            newlines = token.count("\n")
            if docstrings and line_start:  # a docstring or a bare string statement
                line += newlines
                continue
            add_value('"' + token.lstrip("rRbBuUfF").strip("\"'`#"))
            add_line(line)
            line += newlines
        if offsets:
            end = match.end()
            add_start(end - len(token))
            add_end(end)
        line_start = False
    return Tokens(values, lines, starts, ends)


def is_name(token: str) -> bool:
    """True for identifiers that a rename could change (not keywords, literals or operators)."""
    first = token[0]
    return (first.isalpha() or first == "_" or first == "$") and token not in KEYWORDS


def name_class(token: str) -> str:
    """The rename-proof stand-in of a token: identifiers become their naming convention.

    ``value`` -> ``V``, ``ClassName`` -> ``C``, ``CONSTANT`` -> ``K``; keywords, literals and
    operators stay. A rename that keeps the convention (as people and PEP 8 do) keeps the class.
    """
    if not is_name(token):
        return token
    bare = token.lstrip("_$")
    if not bare[:1].isupper():
        return "V"
    return "K" if len(bare) > 1 and bare.isupper() else "C"


def renamed_channel(values: list[str]) -> list[str]:
    """The rename-proof channel: every identifier becomes its naming convention."""
    renamed = {t: name_class(t) for t in set(values)}
    return list(map(renamed.__getitem__, values))

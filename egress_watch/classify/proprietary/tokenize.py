"""One fast regex tokenizer per comment/string style, and the two normalised token channels.

Comments, whitespace, docstrings, ``;`` and trailing commas are dropped; literal *values* are
kept (quotes normalised) because without them chance alignments are common.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import PurePath
from typing import Protocol

PYTHON = "python"
GO = "go"
JS = "js"  # JavaScript and TypeScript
CLIKE = "clike"  # Java, C, C++, C#, Kotlin, Swift, PHP, ...
RUST = "rust"
HASH = "hash"  # shell, ruby, perl, yaml-ish: '#' comments
GENERIC = "generic"

EXTENSIONS: dict[str, str] = {
    ".py": PYTHON, ".pyi": PYTHON,
    ".js": JS, ".mjs": JS, ".cjs": JS, ".jsx": JS, ".ts": JS, ".tsx": JS,
    ".mts": JS, ".cts": JS, ".go": GO, ".java": CLIKE, ".kt": CLIKE, ".scala": CLIKE, ".c": CLIKE,
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
# A JavaScript regex literal stays on one line: a wrong division-vs-regex guess costs a line.
_JS_REGEX = r"(?P<re>/(?![*/])(?:[^\\/\[\n]|\\.|\[(?:[^\]\\\n]|\\.)*\])+/[A-Za-z]*)|"
_PATTERNS = {
    PYTHON: _NL_WS
    + _PY_IMPORT
    + r"(?P<com>\#[^\n]*)|"
    + r"(?P<tri>[rRbBuUfF]{0,2}(?:\"\"\"[\s\S]*?(?:\"\"\"|\Z)|'''[\s\S]*?(?:'''|\Z)))|"
    + _STR + "|" + _COMMON_TAIL,
    # Go raw strings have no escapes: a backslash before the closing backtick closes it.
    GO: _NL_WS + _CLIKE_IMPORT + _BLOCK + r"(?P<tri>`[^`]*(?:`|\Z))|" + _STR + "|" + _COMMON_TAIL,
    # Template literals are read by hand (``_template_end``): ``${}`` nests code and templates.
    JS: _NL_WS + _CLIKE_IMPORT + _BLOCK + r"(?P<tpl>`)|" + _STR + "|" + _COMMON_TAIL,
    # Java text blocks; a backtick (a Kotlin/Scala/Swift quoted name) never spans lines.
    CLIKE: _NL_WS + _CLIKE_IMPORT + _BLOCK
    + r"(?P<tri>\"\"\"[ \t]*\n[\s\S]*?(?:\"\"\"|\Z)|`[^`\n]*`)|" + _STR + "|" + _COMMON_TAIL,
    # Raw strings end at a quote followed by as many ``#`` as opened them.
    RUST: _NL_WS + _RUST_IMPORT + _BLOCK
    + r"(?P<tri>b?r(?P<hashes>\#*)\"[\s\S]*?(?:\"(?P=hashes)|\Z))|"
    + _RUST_STR + "|" + _COMMON_TAIL,
    HASH: _NL_WS + r"(?P<com>\#[^\n]*)|" + _STR + "|" + _COMMON_TAIL,
    GENERIC: _NL_WS + r"(?P<com>/\*[\s\S]*?(?:\*/|\Z)|//[^\n]*|\#[^\n]*|--[^\n]*)|"
    + _STR + "|" + _COMMON_TAIL,
}  # fmt: skip
_COMPILED = {
    lang: re.compile(r"[ \t\r\f\v]*(?:" + pattern + ")") for lang, pattern in _PATTERNS.items()
}
_JS_WITH_REGEX = re.compile(
    r"[ \t\r\f\v]*(?:" + _PATTERNS[JS].replace("(?P<tpl>", _JS_REGEX + "(?P<tpl>") + ")"
)
_REGEX_AFTER_TEXT = "return typeof instanceof in of new delete void throw case do else yield await"
_REGEX_AFTER = frozenset(_REGEX_AFTER_TEXT.split())
"""After these words (and after any operator but a closing bracket) a ``/`` opens a regex."""
_TEMPLATE_TEXT = re.compile(r"(?:[^`\\$]|\\[\s\S]|\$(?!\{))*")
_EXPRESSION_TEXT = re.compile(r"[^{}'\"`/]*")
_EXPRESSION_SKIP = re.compile(
    r"'(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\"|//[^\n]*|/\*[\s\S]*?(?:\*/|\Z)"
)
_REGEX_LITERAL = re.compile(_JS_REGEX[7:-2])
MAX_TEMPLATE_NESTING = 16

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


def tokenize(
    text: str,
    language: str = GENERIC,
    offsets: bool = True,
    spans: list[tuple[int, int]] | None = None,
) -> Tokens:
    """Split ``text`` into normalised tokens; comments, whitespace and docstrings are dropped.

    Without ``offsets`` the character spans are not recorded (``starts``/``ends`` stay empty),
    which is faster for indexing. ``spans``, when given, receives the (first, last) line of
    every string, comment or import that spans lines (how tests bound what one swallows).
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
    matches: Iterable[_Token] = (
        _js_matches(text)
        if language == JS
        else _COMPILED.get(language, _COMPILED[GENERIC]).finditer(text)
    )
    for match in matches:
        kind = match.lastgroup
        if kind == "nl":
            line += 1
            line_start = True
            continue
        if kind is None:  # trailing whitespace at the end of the text
            continue
        token = match.group(kind)
        if kind == "op" or kind == "id" or kind == "num" or kind == "re":
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
            newlines = body.count("\n")  # Rust strings may span lines
            if newlines and spans is not None:
                spans.append((line, line + newlines))
            line += newlines
        elif kind == "com" or kind == "imp":
            newlines = token.count("\n")
            if newlines and spans is not None:
                spans.append((line, line + newlines))
            line += newlines
            continue
        else:  # "tri": triple-quoted, backtick, template or raw string, possibly multi-line
            newlines = token.count("\n")
            if newlines and spans is not None:
                spans.append((line, line + newlines))
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


class _Token(Protocol):
    """What the tokenizer loop reads of a match (a regex match or a hand-read template)."""

    @property
    def lastgroup(self) -> str | None: ...

    def group(self, name: str, /) -> str: ...

    def end(self) -> int: ...


class _Template:
    """A template literal read by hand: ``${}`` holds code and nested templates."""

    __slots__ = ("_end", "_text")
    lastgroup = "tri"

    def __init__(self, text: str, end: int) -> None:
        self._text = text
        self._end = end

    def group(self, _name: str, /) -> str:
        return self._text

    def end(self) -> int:
        return self._end


def _js_matches(text: str) -> Iterator[_Token]:
    """JavaScript/TypeScript tokens: a ``/`` opens a regex literal only where the previous
    token allows one (after an operator, an opening bracket or ``return``-like words, never
    after a name, a number or a closing bracket), and templates nest."""
    plain, with_regex = _COMPILED[JS], _JS_WITH_REGEX
    pos, size = 0, len(text)
    regex_ok = True
    while pos < size:
        match = (with_regex if regex_ok else plain).match(text, pos)
        if match is None:  # a character no pattern takes (odd whitespace): skip it
            pos += 1
            continue
        kind = match.lastgroup
        if kind == "tpl":
            start = match.end() - 1
            pos = _template_end(text, match.end(), 0)
            yield _Template(text[start:pos], pos)
            regex_ok = False
            continue
        pos = match.end()
        yield match
        if kind == "op":
            regex_ok = match.group("op") not in ")]"
        elif kind == "id":
            regex_ok = match.group("id") in _REGEX_AFTER
        elif kind == "num" or kind == "str" or kind == "re":
            regex_ok = False


def _template_end(text: str, pos: int, depth: int) -> int:
    """Where the template literal whose text starts at ``pos`` ends (past its backtick)."""
    size = len(text)
    while True:
        pos = _TEMPLATE_TEXT.match(text, pos).end()  # type: ignore[union-attr]  # matches ""
        if pos >= size:
            return size
        if text[pos] == "`":
            return pos + 1
        pos = _expression_end(text, pos + 2, depth)  # "${"


def _expression_end(text: str, pos: int, depth: int) -> int:
    """Where the ``${...}`` expression whose code starts at ``pos`` ends (past its brace)."""
    size = len(text)
    braces = 0
    while True:
        pos = _EXPRESSION_TEXT.match(text, pos).end()  # type: ignore[union-attr]  # matches ""
        if pos >= size:
            return size
        char = text[pos]
        if char == "{":
            braces += 1
            pos += 1
        elif char == "}":
            if not braces:
                return pos + 1
            braces -= 1
            pos += 1
        elif char == "`":
            if depth >= MAX_TEMPLATE_NESTING:
                return size
            pos = _template_end(text, pos + 1, depth + 1)
        else:  # a quote or a slash: a string, a comment, a regex or a division
            skipped = _EXPRESSION_SKIP.match(text, pos)
            if skipped is None and _regex_may_start(text, pos):
                skipped = _REGEX_LITERAL.match(text, pos)
            pos = skipped.end() if skipped else pos + 1


def _regex_may_start(text: str, pos: int) -> bool:
    """True when the ``/`` at ``pos`` follows an operator or an opening bracket."""
    before = pos - 1
    while before >= 0 and text[before] in " \t\r\n":
        before -= 1
    return before < 0 or text[before] in "(,=:[!&|?{};+-*%<>~^"


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
    """The rename-proof channel: every identifier becomes its naming convention, and so
    does a string that holds just one name (``getattr(x, "name")``, an event or test name, a
    dict key): a rename that follows a name into its strings keeps the channel."""
    renamed = {t: _string_class(t) if t[0] == '"' else name_class(t) for t in set(values)}
    return list(map(renamed.__getitem__, values))


_NAME_STRING = re.compile(r'"[A-Za-z_$][\w$]*')


def _string_class(token: str) -> str:
    """A string token (``"`` and its text) as the rename-proof channel sees it."""
    if _NAME_STRING.fullmatch(token) and is_name(token[1:]):
        return '"' + name_class(token[1:])
    return token

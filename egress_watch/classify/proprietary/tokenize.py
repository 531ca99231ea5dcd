"""One fast regex tokenizer per comment/string style, and the two normalised token channels.

Comments, whitespace, docstrings, ``;`` and trailing commas are dropped; literal *values* are
kept (quotes normalised) because without them chance alignments are common.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from pathlib import PurePath

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

_NUM = r"\d[\w.]*|\.\d\w*"
_ID = r"[A-Za-z_$\x80-\uffff][\w$\x80-\uffff]*"
_OP_ALTERNATIVES = (
    ">>>=", "<<=", ">>=", r"\*\*=", r"\.\.\.", "===", "!==", "=>", "->", "::", r"\+\+", "--",
    "&&", r"\|\|", "<=", ">=", "==", "!=", "[-+*/%&|^<>]=", "<<", ">>", r"\*\*", "//",
)  # fmt: skip
"""Multi-character operators, longest first where they share a start; any other non-blank
character is an operator of its own."""
_TOKEN = _NUM + "|" + _ID + "|" + "|".join(_OP_ALTERNATIVES) + "|"
_STR = r"""[rRbBuUfFL]{0,2}"(?:[^"\\\n]|\\.)*"|[rRbBuUfF]{0,2}'(?:[^'\\\n]|\\.)*'"""
_RUST_STR = r"""b?"(?:[^"\\]|\\.)*"|b?'(?:\\.[^'\n]{0,8}|[^'\\\n])'"""
# Import statements are boilerplate on both sides of a match: they are dropped like comments.
_PY_IMPORT = (
    r"(?:from[ \t]+[\w.]+[ \t]+)?import\b"
    r"(?:[^\n(\\]*\([^)]*\)|[^\n\\]*(?:\\\n[^\n\\]*)*)"
)
_CLIKE_IMPORT = (
    r"\#[ \t]*(?:include|import)\b[^\n]*"
    r"|import[ \t]*\([ \t]*\n[^)]*\)"  # Go's import ( ... )
    r"|import\b[^;\n(]*?(?:\{[^}]*\}[^;\n]*?)?(?:\bfrom[ \t]*(?:'[^'\n]*'|\"[^\"\n]*\")|;)"
    r"|import[ \t]+[^;\n(]+(?=\n)"
    r"|package[ \t]+[\w.]+[ \t]*;?(?=[ \t]*\n)"
    r"|(?:const|let|var)[ \t]+[\w$]+[ \t]*=[ \t]*require\([^)\n]*\)[\w$.]*;?"  # CommonJS
    r"|(?:const|let|var)[ \t]*\{[^}]*\}[ \t]*=[ \t]*require\([^)\n]*\)[\w$.]*;?"
)
_RUST_IMPORT = r"(?:pub(?:\([^)]*\))?[ \t]+)?use[ \t]+[^;]*;|extern[ \t]+crate[^;]*;"
_BLOCK = r"/\*[\s\S]*?(?:\*/|\Z)|//[^\n]*"
# A JavaScript regex literal stays on one line: a wrong division-vs-regex guess costs a line.
_REGEX_LITERAL = re.compile(r"/(?![*/])(?:[^\\/\[\n]|\\.|\[(?:[^\]\\\n]|\\.)*\])+/[A-Za-z]*")
_STRING_PREFIXES = "rRbBuUfFL"
_QUOTES = "\"'"


@dataclass(frozen=True, slots=True)
class _Family:
    """What one tokenizer family reads besides names, numbers and operators."""

    dropped: str
    """Imports and comments (tried first, in this order)."""
    literals: tuple[tuple[str, str], ...]
    """(kind, pattern) of multi-line literals, templates and slashes, tried next."""
    strings: str
    """Strings (tried last before numbers, names and operators)."""
    special_starts: str
    """Every character a dropped part, a literal or a string may start with."""
    names: str
    """Names that start with a letter of ``special_starts`` but cannot start anything else
    (a lookahead rules out the rest): the fast alternative takes them too."""
    drops_semicolons: bool = True
    """False where a ``;`` matters: a Python docstring, a JavaScript regex after it."""


_CLIKE_STARTS = "#ipclv/`" + _STRING_PREFIXES + _QUOTES
_NOT_STRING = r"(?![rRbBuUfFL]?[\"'])"
"""After a string prefix letter: it does not open a string."""
_CLIKE_NAMES = r"i(?!mport)|p(?!ackage)|c(?!onst)|l(?!et)|v(?!ar)|[rRbBuUfFL]" + _NOT_STRING
_FAMILIES = {
    PYTHON: _Family(
        _PY_IMPORT + r"|\#[^\n]*",
        (("tri", r"[rRbBuUfF]{0,2}(?:\"\"\"[\s\S]*?(?:\"\"\"|\Z)|'''[\s\S]*?(?:'''|\Z))"),),
        _STR, "#fi" + _STRING_PREFIXES + _QUOTES,
        r"i(?!mport)|f(?!rom)" + _NOT_STRING + "|[rRbBuUFL]" + _NOT_STRING, drops_semicolons=False,
    ),
    # Go raw strings have no escapes: a backslash before the closing backtick closes it.
    GO: _Family(
        _CLIKE_IMPORT + "|" + _BLOCK, (("tri", r"`[^`]*(?:`|\Z)"),), _STR, _CLIKE_STARTS,
        _CLIKE_NAMES,
    ),
    # Template literals are read by hand (``_template_end``): ``${}`` nests code and templates.
    # A slash opens a regex literal or divides, depending on the token before it.
    JS: _Family(
        _CLIKE_IMPORT + "|" + _BLOCK, (("slash", "/=?"), ("tpl", "`")), _STR, _CLIKE_STARTS,
        _CLIKE_NAMES, drops_semicolons=False,
    ),
    # Java text blocks; a backtick (a Kotlin/Scala/Swift quoted name) never spans lines.
    CLIKE: _Family(
        _CLIKE_IMPORT + "|" + _BLOCK,
        (("tri", r"\"\"\"[ \t]*\n[\s\S]*?(?:\"\"\"|\Z)|`[^`\n]*`"),), _STR, _CLIKE_STARTS,
        _CLIKE_NAMES,
    ),
    # Raw strings end at a quote followed by as many ``#`` as opened them.
    RUST: _Family(
        _RUST_IMPORT + "|" + _BLOCK,
        (("tri", r"b?r(?P<hashes>\#*)\"[\s\S]*?(?:\"(?P=hashes)|\Z)"),), _RUST_STR,
        "pue/br" + _QUOTES, r"p(?!ub)|u(?!se)|e(?!xtern)|b(?![r\"'])|r(?![\#\"])",
    ),
    HASH: _Family(
        r"\#[^\n]*", (), _STR, "#" + _STRING_PREFIXES + _QUOTES, "[rRbBuUfFL]" + _NOT_STRING
    ),
    GENERIC: _Family(
        r"/\*[\s\S]*?(?:\*/|\Z)|//[^\n]*|\#[^\n]*|--[^\n]*", (), _STR,
        "/#-" + _STRING_PREFIXES + _QUOTES, "[rRbBuUfFL]" + _NOT_STRING,
    ),
}  # fmt: skip
_NOT_FAST = "0123456789.;)]}\n"
"""What the fast alternative takes apart or not at all: numbers and dots (read first, as
numbers come before names and operators), ``;``, closing brackets and newlines (kinds of
their own)."""
_FAST_OPERATOR_CHARS = "-+*/%&|^<>=!:([{,?~@\\"


def _fast_alternative(family: _Family) -> str:
    """Names and operators that no dropped part, literal, string or number may start like:
    no alternative tried before them could take them, so they are tried first."""
    unsafe = set(family.special_starts + _NOT_FAST)
    letters = "".join(c for c in string.ascii_letters if c not in unsafe)
    operators = "".join(_safe_operator(op, unsafe) for op in _OP_ALTERNATIVES)
    singles = re.escape("".join(c for c in _FAST_OPERATOR_CHARS if c not in unsafe))
    return (
        rf"{_NUM}|(?:[{letters}_$\x80-\uffff]|{family.names})[\w$\x80-\uffff]*"
        rf"|{operators}\.\.\.|[.{singles}]"
    )


def _safe_operator(operator: str, unsafe: set[str]) -> str:
    """``operator`` (an alternative and its ``|``) restricted to the safe first characters."""
    if operator.startswith("["):  # a class of first characters, then the rest
        end = operator.index("]", 2)
        safe = "".join(c for c in operator[1:end] if c not in unsafe)
        return f"[{re.escape(safe)}]{operator[end + 1 :]}|" if safe else ""
    first = operator[1] if operator.startswith("\\") else operator[0]
    return "" if first in unsafe else operator + "|"


def _lexer(family: _Family) -> re.Pattern[str]:
    """One pattern per family, each alternative a group named after its kind (the match's
    ``lastindex``). It reads every text as trying the family's dropped parts, literals,
    strings, then numbers, names and operators in that order would: only alternatives that
    nothing tried before them could start like are moved ahead, the most frequent first."""
    # A dropped ``;`` is read as a blank; ``*+`` never gives blanks back to another try.
    blanks, other = (
        (r"[ \t\r\f\v;]*+", r"[^\s;]") if family.drops_semicolons else (r"[ \t\r\f\v]*+", r"\S")
    )
    kinds = [
        ("fast", _fast_alternative(family)),
        ("close", r"[)\]}]"),
        ("nl", r"\n"),
        *([] if family.drops_semicolons else [("semi", ";")]),
        ("drop", family.dropped),
        *family.literals,
        ("str", family.strings),
        ("token", _TOKEN + other),
    ]
    # A line's last name, operator or closing bracket takes the newline after it along
    # (``..._eol``, the last group of such a match): one match fewer per line.
    end_of_line = {"fast", "close"}
    eol = r"(?:" + blanks + r"(?P<{}_eol>\n))?"
    return re.compile(
        blanks
        + "(?:"
        + "|".join(f"(?P<{k}>{p})" + (eol.format(k) if k in end_of_line else "") for k, p in kinds)
        + ")"
    )


_LEXERS = {language: _lexer(family) for language, family in _FAMILIES.items()}
_REGEX_AFTER_TEXT = "return typeof instanceof in of new delete void throw case do else yield await"
_REGEX_AFTER = frozenset(_REGEX_AFTER_TEXT.split())
"""After these words (and after any operator but a closing bracket) a ``/`` opens a regex."""
_TEMPLATE_TEXT = re.compile(r"(?:[^`\\$]|\\[\s\S]|\$(?!\{))*")
_EXPRESSION_TEXT = re.compile(r"[^{}'\"`/]*")
_EXPRESSION_SKIP = re.compile(
    r"'(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\"|//[^\n]*|/\*[\s\S]*?(?:\*/|\Z)"
)
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
    One match per token, its kind an integer: names and operators (most tokens) take the
    first branch and a handful of operations.
    """
    lexer = _LEXERS.get(language, _LEXERS[GENERIC])
    kinds = lexer.groupindex
    fast, plain, nl = kinds["fast"], kinds["token"], kinds["nl"]
    fast_eol, close, close_eol = kinds["fast_eol"], kinds["close"], kinds["close_eol"]
    names_and_operators, closing = (fast, fast_eol, plain), (close, close_eol)
    drop, string, semi = kinds["drop"], kinds["str"], kinds.get("semi", -1)
    slash, template = kinds.get("slash", -1), kinds.get("tpl", -1)
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
    previous: str | None = None  # the last token read, "" for a literal (JavaScript's regexes)
    finditer = lexer.finditer
    pos = 0
    while True:
        for match in finditer(text, pos):
            k = match.lastindex
            if k in names_and_operators:
                group = fast if k == fast_eol else k
                token = previous = match[group]
                add_value(token)
                add_line(line)
                if offsets:
                    end = match.end(group)
                    add_start(end - len(token))
                    add_end(end)
                if k == fast_eol:
                    line += 1
                    line_start = True
                else:
                    line_start = False
                continue
            if k == nl:
                line += 1
                line_start = True
                continue
            if k in closing:
                token = previous = match[close]
                if values and values[-1] == ",":  # a trailing comma
                    values.pop()
                    lines.pop()
                    if offsets:
                        starts.pop()
                        ends.pop()
                add_value(token)
                add_line(line)
                if offsets:
                    end = match.end(close)
                    add_start(end - 1)
                    add_end(end)
                if k == close_eol:
                    line += 1
                    line_start = True
                else:
                    line_start = False
                continue
            token = match[k]  # type: ignore[index]  # every alternative is a group
            end = match.end()
            if k == drop:  # a comment or an import
                newlines = token.count("\n")
                if newlines and spans is not None:
                    spans.append((line, line + newlines))
                line += newlines
                continue
            elif k == string:
                previous = ""
                body = token.lstrip(_STRING_PREFIXES)
                add_value('"' + body[1:-1])
                add_line(line)
                newlines = body.count("\n")  # Rust strings may span lines
                if newlines and spans is not None:
                    spans.append((line, line + newlines))
                line += newlines
                line_start = False
                if offsets:
                    add_start(end - len(token))
                    add_end(end)
                continue
            elif k == semi:
                previous = token
                line_start = False
                continue
            elif k == slash:
                literal = (
                    _REGEX_LITERAL.match(text, end - len(token))
                    if _regex_may_follow(previous)
                    else None
                )
                if literal is not None:
                    previous, token, pos = "", literal[0], literal.end()
                    add_value(token)
                    add_line(line)
                    if offsets:
                        add_start(pos - len(token))
                        add_end(pos)
                    break  # read on after the regex literal
                previous = token
            else:  # a triple-quoted, raw or text-block string, or a JavaScript template
                if k == template:
                    start, end = end - 1, _template_end(text, end, 0)
                    token = text[start:end]
                previous = ""
                newlines = token.count("\n")
                if newlines and spans is not None:
                    spans.append((line, line + newlines))
                if docstrings and line_start:  # a docstring or a bare string statement
                    line += newlines
                    continue
                add_value('"' + token.lstrip("rRbBuUfF").strip("\"'`#"))
                add_line(line)
                line += newlines
                line_start = False
                if offsets:
                    add_start(end - len(token))
                    add_end(end)
                if k == template:
                    pos = end
                    break  # read on after the template
                continue
            add_value(token)
            add_line(line)
            if offsets:
                add_start(end - len(token))
                add_end(end)
            line_start = False
        else:
            return Tokens(values, lines, starts, ends)


def _regex_may_follow(previous: str | None) -> bool:
    """Whether a ``/`` after the token ``previous`` opens a regex literal: at the start, after
    an operator or an opening bracket, and after ``return``-like words; never after another
    name, a number, a closing bracket or a literal (``""``)."""
    if previous is None:
        return True
    if not previous:
        return False
    first = previous[0]
    if first.isdecimal() or (first == "." and previous[1:2].isdecimal()):
        return False  # a number
    if first in "_$" or "\x80" <= first <= "\uffff" or (first.isascii() and first.isalpha()):
        return previous in _REGEX_AFTER  # a name
    return previous not in ")]"  # an operator


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

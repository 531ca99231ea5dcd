"""The tokenizer families' patterns: one compiled regex per family, and how JavaScript
templates are read (by hand: ``${}`` nests code and templates).

Each family's pattern reads a text exactly as trying its dropped parts (imports, comments),
multi-line literals and strings, then numbers, names and operators, in that order, would;
its alternatives are arranged so the frequent tokens are tried first (see ``_lexer``).
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

PYTHON = "python"
GO = "go"
JS = "js"  # JavaScript and TypeScript
CLIKE = "clike"  # Java, C, C++, C#, Kotlin, Swift, PHP, ...
RUST = "rust"
HASH = "hash"  # shell, ruby, perl, yaml-ish: '#' comments
GENERIC = "generic"

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
REGEX_LITERAL = re.compile(r"/(?![*/])(?:[^\\/\[\n]|\\.|\[(?:[^\]\\\n]|\\.)*\])+/[A-Za-z]*")
STRING_PREFIXES = "rRbBuUfFL"
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


_CLIKE_STARTS = "#ipclv/`" + STRING_PREFIXES + _QUOTES
_NOT_STRING = r"(?![rRbBuUfFL]?[\"'])"
"""After a string prefix letter: it does not open a string."""
_CLIKE_NAMES = r"i(?!mport)|p(?!ackage)|c(?!onst)|l(?!et)|v(?!ar)|[rRbBuUfFL]" + _NOT_STRING
_FAMILIES = {
    PYTHON: _Family(
        _PY_IMPORT + r"|\#[^\n]*",
        (("tri", r"[rRbBuUfF]{0,2}(?:\"\"\"[\s\S]*?(?:\"\"\"|\Z)|'''[\s\S]*?(?:'''|\Z))"),),
        _STR, "#fi" + STRING_PREFIXES + _QUOTES,
        r"i(?!mport)|f(?!rom)" + _NOT_STRING + "|[rRbBuUFL]" + _NOT_STRING, drops_semicolons=False,
    ),
    # Go raw strings have no escapes: a backslash before the closing backtick closes it.
    GO: _Family(
        _CLIKE_IMPORT + "|" + _BLOCK, (("tri", r"`[^`]*(?:`|\Z)"),), _STR, _CLIKE_STARTS,
        _CLIKE_NAMES,
    ),
    # Template literals are read by hand (``template_end``): ``${}`` nests code and templates.
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
        r"\#[^\n]*", (), _STR, "#" + STRING_PREFIXES + _QUOTES, "[rRbBuUfFL]" + _NOT_STRING
    ),
    GENERIC: _Family(
        r"/\*[\s\S]*?(?:\*/|\Z)|//[^\n]*|\#[^\n]*|--[^\n]*", (), _STR,
        "/#-" + STRING_PREFIXES + _QUOTES, "[rRbBuUfFL]" + _NOT_STRING,
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
    return re.compile(blanks + "(?:" + "|".join(f"(?P<{k}>{p})" for k, p in kinds) + ")")


_LEXERS: dict[str, re.Pattern[str]] = {}
"""The patterns compiled so far, by language (``lexer``)."""


def lexer(language: str) -> re.Pattern[str]:
    """The pattern of ``language``'s family (GENERIC's for another language), compiled when
    first asked for: compiling all seven at import cost every process 0.08 s, and an add
    tokenizes one or two families."""
    if language not in _FAMILIES:
        language = GENERIC
    found = _LEXERS.get(language)
    if found is None:
        found = _LEXERS[language] = _lexer(_FAMILIES[language])
    return found


def compile_lexers() -> None:
    """Compile every family's pattern now (a proxy's analysis worker, as it starts: its first
    request then pays none of it)."""
    for language in _FAMILIES:
        lexer(language)


_REGEX_AFTER_TEXT = "return typeof instanceof in of new delete void throw case do else yield await"
REGEX_AFTER = frozenset(_REGEX_AFTER_TEXT.split())
"""After these words (and after any operator but a closing bracket) a ``/`` opens a regex."""
_TEMPLATE_TEXT = re.compile(r"(?:[^`\\$]|\\[\s\S]|\$(?!\{))*")
_EXPRESSION_TEXT = re.compile(r"[^{}'\"`/]*")
_EXPRESSION_SKIP = re.compile(
    r"'(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\"|//[^\n]*|/\*[\s\S]*?(?:\*/|\Z)"
)
MAX_TEMPLATE_NESTING = 16


def template_end(text: str, pos: int, depth: int) -> int:
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
            pos = template_end(text, pos + 1, depth + 1)
        else:  # a quote or a slash: a string, a comment, a regex or a division
            skipped = _EXPRESSION_SKIP.match(text, pos)
            if skipped is None and _regex_may_start(text, pos):
                skipped = REGEX_LITERAL.match(text, pos)
            pos = skipped.end() if skipped else pos + 1


def _regex_may_start(text: str, pos: int) -> bool:
    """True when the ``/`` at ``pos`` follows an operator or an opening bracket."""
    before = pos - 1
    while before >= 0 and text[before] in " \t\r\n":
        before -= 1
    return before < 0 or text[before] in "(,=:[!&|?{};+-*%<>~^"

"""One fast regex tokenizer per comment/string style, and the two normalised token channels.

Comments, whitespace, docstrings, ``;`` and trailing commas are dropped; literal *values* are
kept (quotes normalised) because without them chance alignments are common.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePath

from egress_watch.classify.proprietary.lexicon import (
    CLIKE,
    GENERIC,
    GO,
    HASH,
    JS,
    PYTHON,
    REGEX_AFTER,
    REGEX_LITERAL,
    RUST,
    STRING_PREFIXES,
    lexer,
    template_end,
)

__all__ = [
    "CLIKE", "CLOSERS", "DROPPED", "EXTENSIONS", "GENERIC", "GO", "HASH", "JS", "KEYWORDS",
    "PYTHON", "RUST", "Tokens", "is_name", "language_of", "name_class", "renamed_channel",
    "tokenize",
]  # fmt: skip

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
    pattern = lexer(language)
    kinds = pattern.groupindex
    names_and_operators, close, nl = (kinds["fast"], kinds["token"]), kinds["close"], kinds["nl"]
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
    finditer = pattern.finditer
    pos = 0
    while True:
        for match in finditer(text, pos):
            k = match.lastindex
            if k in names_and_operators:
                token = previous = match[k]
                add_value(token)
                add_line(line)
                if offsets:
                    end = match.end()
                    add_start(end - len(token))
                    add_end(end)
                line_start = False
                continue
            if k == nl:
                line += 1
                line_start = True
                continue
            if k == close:
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
                    end = match.end()
                    add_start(end - 1)
                    add_end(end)
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
                body = token.lstrip(STRING_PREFIXES)
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
                    REGEX_LITERAL.match(text, end - len(token))
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
                    start, end = end - 1, template_end(text, end, 0)
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
        return previous in REGEX_AFTER  # a name
    return previous not in ")]"  # an operator


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

"""Reading an excerpt that may start or end inside a multi-line string.

An excerpt cut inside a docstring (or a Go raw string, a JavaScript template) inverts the
lexer: its closing quotes open a string that eats the code. The functions here decide which
side of the first such quote is code, from the lines around it.
"""

from __future__ import annotations

import re

from egress_watch.classify.proprietary.prompt import Region
from egress_watch.classify.proprietary.tokenize import GO, JS, PYTHON, Tokens, tokenize

_OPENERS = {PYTHON: ('"""', "'''"), GO: ("`",), JS: ("`",)}
"""Quotes whose string may span lines: an excerpt can start or end inside one."""


def excerpt_tokens(region: Region) -> Tokens:
    """Tokens of a region; an excerpt cut inside a multi-line string is re-read as such.

    An excerpt that starts inside a docstring (or a Go raw string, a JS template) inverts the
    lexer: its closing quotes open a string that eats the code, and the strings after it are
    read as code. So a region holding such a quote may be read with an opening quote
    prepended. Prose before the first such quote means it closes a string. Code before it
    means it opens one, unless that reading misreads more than ``MISREAD_OK`` lines (a line
    of prose read as code, or of code swallowed by a string): a docstring's example
    (``app = LintMiddleware(app)``), a header block (``X-XSS-Protection: 1;``) or a
    sentence that names a call reads as code too. Then, as when the lines before tell
    nothing, the reading that misreads fewer lines wins. An excerpt that ends inside a
    string reads right as it is.
    """
    code, language = region.code, region.language
    best = tokenize(code, language)
    firsts = {q: _first_quote(code, q, language) for q in _OPENERS.get(language, ())}
    quotes = [quote for quote, first in firsts.items() if first >= 0]
    if not quotes:
        return best
    kinds: list[int] = []  # every line's kind, read only when a head is not prose
    misread: int | None = None  # lines the current best reading gets wrong, once needed
    for quote in quotes:
        head = [_line_kind(line) for line in code[: firsts[quote]].split("\n")]
        prose_before = head.count(1) > head.count(-1)
        if misread is None and not prose_before:
            kinds = [_line_kind(line) for line in code.split("\n")]
            misread = _misread(best.lines, kinds)
        if head.count(-1) > head.count(1) and misread is not None and misread <= MISREAD_OK:
            continue  # code before the quote: it opens a string
        other = tokenize(quote + code, language)  # the same line numbers
        if prose_before:  # it closes one
            misread = -1
            best = _shifted(other, len(quote))
            continue
        other_misread = _misread(other.lines, kinds)
        if misread is not None and other_misread < misread:
            best, misread = _shifted(other, len(quote)), other_misread
    return best


MISREAD_OK = 2
"""Misread lines up to which code before a quote settles the reading without trying the
other (a second tokenizing of the region)."""


def _shifted(tokens: Tokens, shift: int) -> Tokens:
    """``tokens`` of a text read with ``shift`` characters prepended, in the text's offsets."""
    starts = [max(0, s - shift) for s in tokens.starts]
    ends = [max(0, e - shift) for e in tokens.ends]
    return Tokens(tokens.values, tokens.lines, starts, ends)


def _misread(token_lines: list[int], kinds: list[int]) -> int:
    """Lines a reading gets wrong: prose lines it reads as code, code lines it swallows."""
    read = set(token_lines)
    wrong = 0
    for number, kind in enumerate(kinds, 1):
        if kind and (number in read) == (kind > 0):
            wrong += 1
    return wrong


_CODE_LINE = re.compile(
    r"\w\(|[={}\[\]]|;\s*$|\)\s*:?\s*$|^\s*\w+:\s*[\w.]+,?\s*$|^\s*(?:@|(?:return|if|elif|else|for"
    r"|while|with|try|except|finally|class|async|def|func|var|const|let|from|import|package)\b)"
)
_WORD = re.compile(r"[A-Za-z]{2,}")
_INLINE_CODE = re.compile(r"``[^`\n]+``|`[^`\n]+`|\$\{[^}\n]*\}")
_NEITHER = ("#", "//", "/*", "* ", '"', "'", "`", ">>>")
"""Comment lines, lines starting with a quote and doctest lines are neither prose nor code."""


def _line_kind(line: str) -> int:
    """1 for a line of prose (three words or more, no code punctuation), -1 for a line of
    code, 0 for neither (blank, comment, a quote first, too short to tell)."""
    stripped = line.strip()
    if not stripped or stripped.startswith(_NEITHER):
        return 0
    line = _INLINE_CODE.sub("x", line)  # ``name[0]`` in a docstring, ${name} in a template
    if _CODE_LINE.search(line):
        return -1
    return 1 if len(_WORD.findall(line)) >= 3 else 0


def _first_quote(code: str, quote: str, language: str) -> int:
    """Where ``code``'s first ``quote`` outside one-line strings and comments is, or -1 (a
    backtick inside a Go string or after a URL's ``//`` opens nothing)."""
    for match in _SHORT_LITERALS[language].finditer(code):
        if match.group(1) == quote:
            return match.start(1)
    return -1


_QUOTES_AND_LITERALS = r"(\"\"\"|'''|`)|'(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\""
_SHORT_LITERALS = {
    PYTHON: re.compile(_QUOTES_AND_LITERALS + r"|\#[^\n]*"),
    GO: re.compile(_QUOTES_AND_LITERALS + r"|(?<![:\w])//[^\n]*"),
    JS: re.compile(_QUOTES_AND_LITERALS + r"|(?<![:\w])//[^\n]*"),
}
"""Multi-line quotes (captured), or one-line strings and comments (skipped over)."""

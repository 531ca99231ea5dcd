"""Find the code inside chat text: fenced blocks when there are fences, else non-prose lines.

Lexing a whole prompt lets an apostrophe in prose open a string that swallows the code, so
prose lines are blanked (offsets kept) and the language is guessed before tokenizing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from egress_watch.proprietary.tokenize import CLIKE, GENERIC, HASH, KEYWORDS, PYTHON, RUST

FENCE = re.compile(r"^[ \t]*(```+|~~~+)[ \t]*([\w+#.-]*)[^\n]*\n(.*?)^[ \t]*\1[ \t]*$", re.M | re.S)
TAGS = {
    "python": PYTHON, "py": PYTHON, "python3": PYTHON, "pycon": PYTHON,
    "rust": RUST, "rs": RUST,
    "bash": HASH, "sh": HASH, "shell": HASH, "ruby": HASH, "rb": HASH,
}  # fmt: skip
_CLIKE_TAG_TEXT = (
    "js javascript ts typescript jsx tsx go golang java c cpp c++ h hpp cs csharp kotlin kt "
    "swift php scala dart"
)
CLIKE_TAGS = frozenset(_CLIKE_TAG_TEXT.split())
# Idioms counted with str.count (C speed: guessing runs on every region of every request).
_PY_IDIOMS = (
    "def ", "elif ", "self", "None", "True", "False", ":\n", '"""', "'''", "  # ", "\n#", "\n    #",
)  # fmt: skip
_CLIKE_IDIOMS = (
    ";\n", "{\n", ") {", "//", "=>", "===", "!==", "this.", "require(", "function", "null",
    "const ", "let ", "var ", "func (", "public ", "private ", "new ", "#include",
)  # fmt: skip
_RUST_HINTS = ("fn ", "let mut ", "impl ", "impl<", "&'")
_RUST_IDIOM = re.compile(r"\bfn \w+|\blet mut |\bimpl\b[^\n]*\{|&'\w|\bpub fn\b")
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")
_CANDIDATE_LINE = re.compile(r"^[^(){}\[\]=;<>\n]{16,}$", re.M)


GUESS_CHARS = 4000  # the language of a long text is guessed from its start


@dataclass(frozen=True, slots=True)
class Region:
    """A stretch of code inside a text: where it starts, the code, its tokenizer family."""

    offset: int
    code: str
    language: str


def guess_language(code: str) -> str:
    """The tokenizer family a snippet most likely needs, from its idioms (counted in C)."""
    sample = code[:GUESS_CHARS]
    if any(hint in sample for hint in _RUST_HINTS) and _RUST_IDIOM.search(sample):
        return RUST
    cases = sample.count("case ")  # `case x:` ends with a colon in C-like code too
    python = sum(map(sample.count, _PY_IDIOMS)) - cases
    return PYTHON if python >= sum(map(sample.count, _CLIKE_IDIOMS)) else CLIKE


def code_regions(text: str, language: str | None = None) -> list[Region]:
    """The code regions of a prompt or file; ``language`` forces the tokenizer family."""
    out = []
    rest = text
    for match in FENCE.finditer(text):
        code = match.group(3)
        tag = match.group(2).lower()
        lang = language or TAGS.get(tag) or (CLIKE if tag in CLIKE_TAGS else None)
        out.append(Region(match.start(3), code, lang or guess_language(code)))
        rest = rest[: match.start()] + _blank(match.group()) + rest[match.end() :]
    rest = _blank_prose(rest)
    if rest.strip():
        out.append(Region(0, rest, language or guess_language(rest)))
    return out


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
    words = _WORD.findall(line)
    if len(words) < 4:
        return False
    if words[0] in KEYWORDS or line.rstrip().endswith((",", "\\")):
        return False
    stripped = line.strip()
    return stripped.endswith((".", "?", "!")) or len(words) >= 6 or stripped[:1].isupper()


__all__ = ["GENERIC", "Region", "code_regions", "guess_language"]

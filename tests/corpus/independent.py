"""The frozen evaluation half: material nobody on this project wrote, built at run time.

* Planted values come from other projects' rule definitions, installed with our dependencies:
  kingfisher's catalog patterns (``Rules.detail(id)["pattern"]``) and detect-secrets' plugin
  regexes. Each pattern is sampled (``sample``) into a string it fully matches; the rule's
  secret group is the planted value. Nothing is copied into this repository.
* The text around them, and the clean documents, are real files shipped inside installed
  packages (READMEs, docs, configuration, source), cut into prompt-sized excerpts.

Tuning happens on tests/corpus/generate.py (our own phrasing); this half is only measured.
"""

from __future__ import annotations

import functools
import random
import re
import re._constants as sre  # the stdlib parser's opcodes (Python 3.12)
import re._parser as sre_parse
import string
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.corpus.generate import Document

PRINTABLE = string.ascii_letters + string.digits + "-_./+=:"
_WORD = string.ascii_letters + string.digits + "_"
SKIP_PACKAGES = ("detect_secrets", "kingfisher_sdk", "egress_watch", "_pytest", "pip", "test")
TEXT_SUFFIXES = (".md", ".rst", ".txt", ".py", ".json", ".toml", ".cfg", ".yaml", ".yml", ".ini")


@dataclass(frozen=True)
class Plant:
    source: str  # "kingfisher" or "detect-secrets"
    family: str  # the rule it was sampled from
    line: str  # the sampled full match
    start: int  # the secret's span inside ``line``
    end: int


class _Sampler:
    """A string matching a parsed regex (the subset rule patterns use), with group spans."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.out: list[str] = []
        self.size = 0
        self.groups: dict[int, tuple[int, int]] = {}

    def emit(self, text: str) -> None:
        self.out.append(text)
        self.size += len(text)

    def run(self, items: sre_parse.SubPattern | list[tuple[object, object]]) -> None:
        for op, av in items:
            self.one(op, av)

    def one(self, op: object, av: object) -> None:
        rng = self.rng
        if op is sre.LITERAL:
            self.emit(chr(av))  # type: ignore[arg-type]
        elif op is sre.NOT_LITERAL:
            self.emit(rng.choice([c for c in PRINTABLE if ord(c) != av]))
        elif op is sre.ANY:
            self.emit(rng.choice(string.ascii_letters + string.digits))
        elif op is sre.IN:
            self.emit(rng.choice(_charset(_frozen(av))))
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
            low, high, sub = av  # type: ignore[misc]
            high = low + 12 if high is sre.MAXREPEAT else high
            for _ in range(rng.randint(low, max(low, min(high, low + 40)))):
                self.run(sub)
        elif op is sre.SUBPATTERN:
            group, _, _, sub = av  # type: ignore[misc]
            start = self.size
            self.run(sub)
            if group is not None:
                self.groups[group] = (start, self.size)
        elif op is sre.BRANCH:
            self.run(rng.choice(av[1]))  # type: ignore[index]
        elif op is sre.CATEGORY:
            self.emit(rng.choice(_category(av)))
        elif op is sre.GROUPREF:
            s, e = self.groups.get(av, (0, 0))  # type: ignore[call-overload]
            self.emit("".join(self.out)[s:e])
        elif op is sre.ATOMIC_GROUP:
            self.run(av)  # type: ignore[arg-type]
        # AT (anchors, \b), ASSERT and ASSERT_NOT emit nothing; fullmatch checks the result.


def _category(code: object) -> str:
    if code is sre.CATEGORY_DIGIT:
        return string.digits
    if code is sre.CATEGORY_SPACE:
        return " "
    if code is sre.CATEGORY_WORD:
        return _WORD
    if code is sre.CATEGORY_NOT_DIGIT:
        return string.ascii_letters
    return string.ascii_letters + string.digits


def _frozen(items: object) -> tuple[tuple[object, object], ...]:
    return tuple((op, tuple(av) if isinstance(av, list | tuple) else av) for op, av in items)  # type: ignore[attr-defined]


@functools.cache
def _charset(items: tuple[tuple[object, object], ...]) -> str:
    chars: set[str] = set()
    negate = False
    for op, av in items:
        if op is sre.NEGATE:
            negate = True
        elif op is sre.LITERAL:
            chars.add(chr(av))  # type: ignore[arg-type]
        elif op is sre.RANGE:
            low, high = av  # type: ignore[misc]
            chars.update(chr(c) for c in range(low, min(high, 0x7E) + 1))
        elif op is sre.CATEGORY:
            chars.update(_category(av))
    if negate:
        chars = set(PRINTABLE) - chars
    return "".join(sorted(c for c in chars if c.isprintable() and c not in "\n\r")) or "x"


def sample(
    pattern: str, rng: random.Random, tries: int = 6
) -> tuple[str, dict[int, tuple[int, int]]] | None:
    """A string ``pattern`` fully matches, and its groups' spans; None if not found in ``tries``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # Rust-style sets such as [[a-z]
            compiled = re.compile(pattern)
            parsed = sre_parse.parse(pattern)
    except (re.error, OverflowError, RecursionError):
        return None
    for _ in range(tries):
        sampler = _Sampler(rng)
        try:
            sampler.run(parsed)
        except (TypeError, ValueError, IndexError):
            return None
        text = "".join(sampler.out)
        match = compiled.fullmatch(text)
        if match is not None and "\n" not in text:
            return text, {i: match.span(i) for i in range(1, (compiled.groups or 0) + 1)}
    return None


def kingfisher_plants(rng: random.Random) -> list[Plant]:
    """One sampled value for each kingfisher rule that names a secret on its own."""
    from egress_watch.classify import kingfisher

    rules = kingfisher.shared_scanner().rules  # the process's compiled catalog
    plants = []
    for meta in rules.metadata():
        rule_id = meta["id"]
        short = kingfisher.short_rule(rule_id)
        if not meta["visible"] or kingfisher.is_identifier(rule_id) or short.startswith("generic"):
            continue
        detail = rules.detail(rule_id)
        if detail.get("depends_on_rule") or short in kingfisher.LEFT_TO_OURS:
            continue
        found = sample(detail["pattern"], rng)
        if found is None:
            continue
        line, groups = found
        group = detail.get("betterleaks_secret_group") or (1 if groups else 0)
        start, end = groups.get(group, (0, len(line))) if group else (0, len(line))
        if end - start >= 8:
            plants.append(Plant("kingfisher", short, line, start, end))
    return plants


def detect_secrets_plants(rng: random.Random) -> list[Plant]:
    """Sampled values of detect-secrets' vendor plugins (not its keyword/entropy ones)."""
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
    from detect_secrets.plugins.base import RegexBasedDetector

    plants = []
    for name, cls in sorted(get_mapping_from_secret_type_to_class().items()):
        if not issubclass(cls, RegexBasedDetector) or name in {"Secret Keyword", "Private Key"}:
            continue
        if name in {"Twilio API Key", "Public IP (ipv4)"}:
            continue  # Twilio's first regex is an account SID: an identifier
        for regex in cls.denylist:
            found = sample(regex.pattern, rng)
            if found is not None:
                line, groups = found
                start, end = groups.get(1, (0, len(line)))
                if end - start >= 8:
                    plants.append(Plant("detect-secrets", name, line, start, end))
    return plants


def real_texts(limit: int = 600) -> list[str]:
    """Excerpts of text files shipped in installed packages (not ours, not scanners' own)."""
    roots = [Path(p) for p in sys.path if p.endswith("site-packages")]
    files: list[Path] = []
    for root in roots:
        for path in sorted(root.rglob("*")):
            if (
                path.suffix in TEXT_SUFFIXES
                and not any(s in path.parts for s in SKIP_PACKAGES)
                and not any(part.startswith(SKIP_PACKAGES) for part in path.parts[-3:])
            ):
                files.append(path)
    rng = random.Random(16)
    rng.shuffle(files)
    texts = []
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        lines = text.splitlines()
        if len(lines) >= 30:
            at = rng.randrange(0, len(lines) - 25)
            texts.append("\n".join(lines[at : at + rng.randint(20, 60)]))
        if len(texts) >= limit:
            break
    return texts


def _documents(plants: list[Plant], fillers: Iterator[str], rng: random.Random) -> list[Document]:
    """Three plants per document, each on its own line at a random place in a real excerpt."""
    docs = []
    for i in range(0, len(plants), 3):
        rows: list[tuple[str, Plant | None]] = [(line, None) for line in next(fillers).split("\n")]
        for plant in plants[i : i + 3]:
            rows.insert(rng.randrange(len(rows) + 1), (plant.line, plant))
        doc = Document(f"{plants[i].source}-{i}", "real")
        for line, plant in rows:
            if plant is None:
                doc.add(line + "\n")
            else:
                value = line[plant.start : plant.end]
                doc.plant(plant.family, line[: plant.start], value, line[plant.end :] + "\n")
        docs.append(doc)
    return docs


def build_independent(seed: int = 16) -> tuple[list[Document], list[Document], list[Plant]]:
    """(documents with planted values, clean documents, the plants), deterministic per seed."""
    rng = random.Random(seed)
    plants = kingfisher_plants(rng) + detect_secrets_plants(rng)
    texts = real_texts()
    fillers = iter(texts)
    planted = _documents(plants, fillers, rng)
    clean = [Document(f"clean-{i}", "real", [t + "\n"]) for i, t in enumerate(fillers)][:200]
    return planted, clean, plants

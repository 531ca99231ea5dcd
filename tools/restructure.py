"""Issue 21: move egress_watch's loose modules into one package per stage, and rewrite imports.

Run from the repository root: ``python3.12 tools/restructure.py`` (``--dry-run`` lists the
moves). It is idempotent: on a tree that already moved it only moves files still at an old path
(e.g. a module another branch added under ``egress_watch/proprietary/`` or
``egress_watch/commands/``) and rewrites the old import paths that remain, in Python files,
pyproject.toml, tests, bench/, addons/, tools/, docs, README and .ci. Moves use ``git mv`` so
history follows; a moved file's body changes only in its import lines.

``MODULE_MAP`` below is the old -> new module map (a package maps every module under it).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "egress_watch"

# Old module (or package) -> new module (or package). Longest dotted prefix wins.
MODULE_MAP: dict[str, str] = {
    # decoding/: bytes to text and bounded JSON
    "egress_watch.decode": "egress_watch.decoding.encoding",
    "egress_watch.charset": "egress_watch.decoding.charset",
    "egress_watch.jsonsafe": "egress_watch.decoding.jsonsafe",
    # catalog/: which hosts are AI services, where their requests go
    "egress_watch.services": "egress_watch.catalog.services",
    "egress_watch.service_facts": "egress_watch.catalog.facts",
    "egress_watch.discovery": "egress_watch.catalog.discovery",
    # classify/: findings in segments (proprietary code inside)
    "egress_watch.boilerplate": "egress_watch.classify.boilerplate",
    "egress_watch.proprietary": "egress_watch.classify.proprietary",
    "egress_watch.inspect_pool": "egress_watch.capture.worker_pool",  # issue-15
    # decide/: policy, redaction, restore, local answers
    "egress_watch.policy": "egress_watch.decide.policy",
    "egress_watch.restore_policy": "egress_watch.decide.restore_policy",
    "egress_watch.rewrite": "egress_watch.decide.rewrite",
    "egress_watch.naming": "egress_watch.decide.naming",
    "egress_watch.standin": "egress_watch.decide.standin",
    "egress_watch.vault": "egress_watch.decide.vault",
    "egress_watch.conversation": "egress_watch.decide.conversation",
    "egress_watch.outcome": "egress_watch.decide.outcome",
    "egress_watch.restore": "egress_watch.decide.restore",
    "egress_watch.restore_streams": "egress_watch.decide.restore_streams",
    "egress_watch.responses": "egress_watch.decide.responses",
    # config/: config.toml read once, validated whole
    "egress_watch.settings": "egress_watch.config.settings",
    "egress_watch.configfile": "egress_watch.config.file_problems",
    "egress_watch.export.config": "egress_watch.config.export_sinks",
    # store/: the history (triage writes to it)
    "egress_watch.triage": "egress_watch.store.triage",
    # capture/: the proxy process: addon, daemon, connection and body plumbing
    "egress_watch.proxy": "egress_watch.capture.addon",
    "egress_watch.answers": "egress_watch.capture.answers",
    "egress_watch.daemon": "egress_watch.capture.daemon",
    "egress_watch.streams": "egress_watch.capture.streams",
    "egress_watch.framing": "egress_watch.capture.framing",
    "egress_watch.attribution": "egress_watch.capture.attribution",
    "egress_watch.cmdline": "egress_watch.capture.cmdline",
    "egress_watch.toolname": "egress_watch.capture.toolname",
    "egress_watch.tls_identity": "egress_watch.capture.tls_identity",
    "egress_watch.upstream": "egress_watch.capture.upstream",
    "egress_watch.listen": "egress_watch.capture.listen",
    "egress_watch.har": "egress_watch.capture.har",
    # workstation/: this machine's set-up around the proxy
    "egress_watch.ca": "egress_watch.workstation.ca",
    "egress_watch.trust": "egress_watch.workstation.trust",
    "egress_watch.install": "egress_watch.workstation.install",
    "egress_watch.envvars": "egress_watch.workstation.envvars",
    "egress_watch.doctor": "egress_watch.workstation.doctor",
    "egress_watch.demo": "egress_watch.workstation.demo",
    "egress_watch.notify": "egress_watch.workstation.notify",
    "egress_watch.home": "egress_watch.workstation.home",
    "egress_watch.history_health": "egress_watch.workstation.history_health",
    # shared value helpers beside model and errors
    "egress_watch.redact": "egress_watch.masking",
    # cli/: the group and one module per command
    "egress_watch.commands.common": "egress_watch.cli.client_setup",
    "egress_watch.commands.service": "egress_watch.cli.install",
    "egress_watch.commands.service_facts": "egress_watch.cli.services_view",
    "egress_watch.commands": "egress_watch.cli",
}

# Files whose old module name lives on as a package: moved by path.
FILE_MOVES: dict[str, str] = {"egress_watch/cli.py": "egress_watch/cli/main.py"}

# Modules whose names were split between modules: ``from M import name`` goes to the module that
# defines the name now (else to the first module given). ``egress_watch.cli`` was a module and
# is a package now; ``egress_watch.cli.main`` is what the move commit first called the group.
_CLI_NAMES = {
    **dict.fromkeys(
        ("EXIT_OK", "EXIT_FINDINGS", "EXIT_ERROR", "EXIT_USAGE", "EXIT_NOT_RUNNING"),
        "egress_watch.cli.options",
    ),
    **dict.fromkeys(
        ("CONTEXT_SETTINGS", "UsageProblem", "home_option", "current_paths", "translate_errors"),
        "egress_watch.cli.options",
    ),
    **dict.fromkeys(("start", "stop", "status", "dashboard"), "egress_watch.cli.proxy"),
    **dict.fromkeys(("scan", "line_numbers"), "egress_watch.cli.scan"),
    "services": "egress_watch.cli.services",
}
_REPORT_CONTENTS = (
    "SCHEMA_VERSION", "UNKNOWN_TOOL", "OPEN", "ACKNOWLEDGED", "ALLOWLISTED", "TREND_LABELS",
    "Totals", "TrendRow", "UsageRow", "FindingCount", "Exposure", "StoppedValue",
    "RepoExposure", "UninspectedRow", "ShadowHost", "ReportData",
)  # fmt: skip
_PROPRIETARY = "egress_watch.classify.proprietary"
_INDEX_NAMES = {
    **dict.fromkeys(
        (
            "Background", "background_to_build", "background_info", "build_background",
            "public_hashes",
        ),
        f"{_PROPRIETARY}.background",
    ),
    **dict.fromkeys(
        (
            "STDLIB_SKIP", "default_background", "GO_SOURCES", "NODE_PACKAGES",
            "installed_public_code", "environment_packages",
        ),
        f"{_PROPRIETARY}.sources",
    ),
    **dict.fromkeys(
        ("RepoInfo", "IndexStats", "list_repos", "add_repo", "rebuild", "remove_repo"),
        f"{_PROPRIETARY}.repos",
    ),
}  # fmt: skip
_POSTINGS_NAMES = {
    **dict.fromkeys(
        ("BUCKET_BITS", "BUCKETS", "LOW", "CHUNK", "Posting", "Widths"),
        f"{_PROPRIETARY}.blocks",
    ),
    **dict.fromkeys(
        ("IN_MEMORY_BYTES", "Loaded", "lookup", "Reader"), f"{_PROPRIETARY}.postings_reader"
    ),
}
_ADDON_NAMES = {
    **dict.fromkeys(
        ("CREDENTIAL_HEADERS", "TEE_KEY", "CALL_HINTS_KEY", "MAX_CALL_HINTS", "capture_from_flow"),
        "egress_watch.capture.flows",
    ),
    **dict.fromkeys(("Stats", "STATE_INTERVAL_S"), "egress_watch.capture.health"),
    **dict.fromkeys(("LOST", "INSPECT_THREADS"), "egress_watch.capture.recording"),
}
"""Names that left the addon when it was split under 400 lines (the hooks stayed)."""
SPLITS: dict[str, tuple[str, dict[str, str]]] = {
    "egress_watch.proxy": ("egress_watch.capture.addon", _ADDON_NAMES),
    "egress_watch.capture.addon": ("egress_watch.capture.addon", _ADDON_NAMES),
    "egress_watch.cli": ("egress_watch.cli.main", _CLI_NAMES),
    "egress_watch.cli.main": ("egress_watch.cli.main", _CLI_NAMES),
    "egress_watch.config.settings": (
        "egress_watch.config.settings",
        {"DEFAULT_CONFIG": "egress_watch.config.defaults"},
    ),
    "egress_watch.report.data": (
        "egress_watch.report.data",
        dict.fromkeys(_REPORT_CONTENTS, "egress_watch.report.contents"),
    ),
    # split after issue 21: the code index's background and repositories, the postings' block
    # format and reader, each in a module of its own
    f"{_PROPRIETARY}.index": (f"{_PROPRIETARY}.index", _INDEX_NAMES),
    f"{_PROPRIETARY}.postings": (f"{_PROPRIETARY}.postings", _POSTINGS_NAMES),
}


# Literal texts rewritten as they are (entry points and what tests import to check them).
LITERALS: dict[str, str] = {
    "egress_watch.cli:main": "egress_watch.cli.main:main",
    'modules_loaded_by("import egress_watch.cli")': (
        'modules_loaded_by("import egress_watch.cli.main")'
    ),
}

# Texts that look like module paths but are not (left exactly as they are).
NOT_MODULES: tuple[str, ...] = (
    'meta["egress_watch.home"]',
    'meta.get("egress_watch.home")',
)

# New packages and what each stage takes and gives (written when the __init__ is missing).
PACKAGE_DOCS: dict[str, str] = {
    "decoding": "Decode: request bytes in, text and bounded JSON out (Content-Encoding, charset).",
    "catalog": "Route: a host and path in, the AI service, its API family and facts out.",
    "decide": (
        "Decide: findings, service and policy in; a Decision, the redacted body and restored\n"
        "answers out (pure: no I/O)."
    ),
    "config": "Config: ``config.toml`` in, frozen validated Settings out (or a ConfigError).",
    "capture": (
        "Capture: the proxy process. Flows in from mitmproxy; Events to the store and\n"
        "forwarded, redacted or blocked requests out."
    ),
    "workstation": (
        "Workstation: this machine around the proxy (data home, CA, trust, service install,\n"
        "shell variables, doctor, notifications)."
    ),
    "cli": "CLI: the ``egress-watch`` command line; arguments in, text, JSON and exit codes out.",
}

TEXT_SUFFIXES = {".py", ".toml", ".md", ".cfg", ".ini", ".txt", ".in", ".yaml", ".yml", ".sh"}
TEXT_NAMES = {"run"}  # .ci/run
SKIP_PARTS = {".git", ".venv", "__pycache__", "__snapshots__", "node_modules"}
SKIP_FILES = {"tools/restructure.py", "tests/test_restructure.py", "uv.lock"}  # its samples

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
DOTTED = re.compile(rf"\b{PACKAGE}((?:\.{IDENT})+)")
ESCAPED_DOTTED = re.compile(rf"\b{PACKAGE}((?:\\\.{IDENT})+)")  # in regular expressions
FROM_PACKAGE = re.compile(
    rf"^(?P<indent>[ \t]*)from {PACKAGE} import (?P<names>\([^)]*\)|[^\n#]*)", re.MULTILINE
)
FROM_SPLIT = re.compile(
    rf"^(?P<indent>[ \t]*)from (?P<module>{PACKAGE}(?:\.{IDENT})+) import "
    r"(?P<names>\([^)]*\)|[^\n#]*)",
    re.MULTILINE,
)


def new_module(old: str) -> str | None:
    """The new dotted name for ``old`` (longest mapped prefix), or None if it did not move."""
    parts = old.split(".")
    for end in range(len(parts), 1, -1):
        prefix = ".".join(parts[:end])
        if prefix in MODULE_MAP:
            return ".".join([MODULE_MAP[prefix], *parts[end:]])
    return None


def rewrite_dotted(text: str) -> str:
    """Every ``egress_watch.old.module[.attr]`` reference to its new module."""

    def swap(match: re.Match[str]) -> str:
        moved = new_module(match.group(0))
        return moved if moved is not None else match.group(0)

    def swap_escaped(match: re.Match[str]) -> str:
        moved = new_module(match.group(0).replace("\\.", "."))
        return moved.replace(".", "\\.") if moved is not None else match.group(0)

    return ESCAPED_DOTTED.sub(swap_escaped, DOTTED.sub(swap, text))


def _names(raw: str) -> list[tuple[str, str | None]]:
    body = raw.strip().removeprefix("(").removesuffix(")")
    pairs: list[tuple[str, str | None]] = []
    for item in body.replace("\n", " ").split(","):
        words = item.split()
        if not words:
            continue
        pairs.append((words[0], words[2] if len(words) == 3 and words[1] == "as" else None))
    return pairs


def _import_lines(indent: str, groups: dict[str, list[str]]) -> str:
    return "\n".join(f"{indent}from {mod} import {', '.join(ns)}" for mod, ns in groups.items())


def rewrite_from_package(text: str) -> str:
    """``from egress_watch import daemon, jsonsafe`` -> ``from egress_watch.<pkg> import ...``."""

    def swap(match: re.Match[str]) -> str:
        pairs = _names(match.group("names"))
        groups: dict[str, list[str]] = {}
        changed = False
        for name, alias in pairs:
            moved = new_module(f"{PACKAGE}.{name}")
            if moved is None:
                groups.setdefault(PACKAGE, []).append(name + (f" as {alias}" if alias else ""))
                continue
            changed = True
            parent, _, leaf = moved.rpartition(".")
            local = alias or name
            groups.setdefault(parent, []).append(leaf if leaf == local else f"{leaf} as {local}")
        return _import_lines(match.group("indent"), groups) if changed else match.group(0)

    return FROM_PACKAGE.sub(swap, text)


def rewrite_splits(text: str) -> str:
    """``from egress_watch.cli import current_paths`` -> the module that defines it now."""

    def swap(match: re.Match[str]) -> str:
        if match.group("module") not in SPLITS:
            return match.group(0)
        default, moved = SPLITS[match.group("module")]
        pairs = _names(match.group("names"))
        groups: dict[str, list[str]] = {}
        for name, alias in pairs:
            groups.setdefault(moved.get(name, default), []).append(
                name + (f" as {alias}" if alias else "")
            )
        if list(groups) == [match.group("module")]:
            return match.group(0)
        return _import_lines(match.group("indent"), groups)

    return FROM_SPLIT.sub(swap, text)


def old_path(module: str) -> str:
    return module.replace(".", "/")


def rewrite_paths(text: str) -> str:
    """``egress_watch/proxy.py`` and ``egress_watch/proprietary/`` in prose and tests."""

    def swap(match: re.Match[str]) -> str:
        path = match.group(0)
        stem = path.removesuffix(".py").rstrip("/")
        moved = new_module(stem.replace("/", "."))
        if moved is None:
            return path
        return old_path(moved) + path[len(stem) :]

    return re.sub(rf"\b{PACKAGE}(?:/{IDENT})+(?:\.py|/)?", swap, text)


OWN_PACKAGE = 'PACKAGE = Path(__file__).parents[2] / "egress_watch"'
OWN_SOURCE_IMPORT = "from tests.support.own_code import own_source"


def rewrite_own_sources(text: str) -> str:
    """Tests that use our modules as sample code: ``PACKAGE / "policy.py"`` -> ``own_source(...)``
    (tests/support/own_code.py), which finds a module named by its old flat path."""
    if OWN_PACKAGE not in text:
        return text
    swapped = re.sub(rf'\bPACKAGE / ("[^"\n]*"|{IDENT})', r"own_source(\1)", text)
    if swapped != text and OWN_SOURCE_IMPORT not in swapped:
        swapped = swapped.replace(
            "from __future__ import annotations\n",
            f"from __future__ import annotations\n\n{OWN_SOURCE_IMPORT}\n",
            1,
        )
    return swapped


def rewrite_text(text: str) -> str:
    guarded = text
    for i, keep in enumerate(NOT_MODULES):
        guarded = guarded.replace(keep, f"\0KEEP{i}\0")
    for old, new in LITERALS.items():
        if new not in guarded:
            guarded = guarded.replace(old, new)
    guarded = rewrite_splits(rewrite_dotted(rewrite_from_package(guarded)))
    guarded = rewrite_own_sources(rewrite_paths(guarded))
    for i, keep in enumerate(NOT_MODULES):
        guarded = guarded.replace(f"\0KEEP{i}\0", keep)
    return guarded


def git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout


def planned_moves() -> list[tuple[Path, Path]]:
    """(old file, new file) for every file of the package still at an old path."""
    moves = [(Path(src), Path(dst)) for src, dst in FILE_MOVES.items() if (ROOT / src).is_file()]
    for path in sorted((ROOT / PACKAGE).rglob("*")):
        if not path.is_file() or SKIP_PARTS & set(path.parts):
            continue
        rel = path.relative_to(ROOT)
        dotted = ".".join(rel.with_suffix("").parts) if rel.suffix == ".py" else None
        if dotted is not None:
            moved = new_module(dotted)
            if moved is None:
                continue
            moves.append((rel, Path(old_path(moved) + ".py")))
            continue
        # a data file inside a package that moved (e.g. proprietary/some.toml)
        moved_dir = new_module(".".join(rel.parent.parts))
        if moved_dir is not None:
            moves.append((rel, Path(old_path(moved_dir)) / rel.name))
    return moves


def tracked(rel: Path) -> bool:
    return bool(git("ls-files", "--", str(rel)).strip())


def move_files(moves: list[tuple[Path, Path]]) -> None:
    """Through a staging folder, so ``cli.py`` can become ``cli/main.py``."""
    staging = ROOT / PACKAGE / "__restructure_staging__"
    staged = []
    for n, (src, dst) in enumerate(moves):
        tmp = staging.relative_to(ROOT) / f"{n}{src.suffix}"
        staging.mkdir(exist_ok=True)
        if tracked(src):
            git("mv", str(src), str(tmp))
        else:
            shutil.move(ROOT / src, ROOT / tmp)
        staged.append((tmp, dst))
    for tmp, dst in staged:
        (ROOT / dst).parent.mkdir(parents=True, exist_ok=True)
        if tracked(tmp):
            git("mv", str(tmp), str(dst))
        else:
            shutil.move(ROOT / tmp, ROOT / dst)
    if staging.exists():
        staging.rmdir()
    for folder in sorted((ROOT / PACKAGE).rglob("*"), reverse=True):
        if folder.is_dir() and not SKIP_PARTS & set(folder.parts):
            leftovers = [p for p in folder.iterdir() if p.name != "__pycache__"]
            if not leftovers:
                shutil.rmtree(folder)


def add_package_inits() -> list[Path]:
    created = []
    for name, doc in PACKAGE_DOCS.items():
        init = ROOT / PACKAGE / name / "__init__.py"
        if init.parent.is_dir() and not init.exists():
            init.write_text(f'"""{doc}"""\n', encoding="utf-8")
            git("add", str(init.relative_to(ROOT)))
            created.append(init)
    return created


def text_files() -> list[Path]:
    listed = git("ls-files", "--cached", "--others", "--exclude-standard").splitlines()
    files = []
    for rel in listed:
        path = ROOT / rel
        if rel in SKIP_FILES or SKIP_PARTS & set(Path(rel).parts) or not path.is_file():
            continue
        if path.suffix in TEXT_SUFFIXES or path.name in TEXT_NAMES:
            files.append(path)
    return files


def rewrite_files() -> list[Path]:
    changed = []
    for path in text_files():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        new = rewrite_text(text)
        if new != text:
            path.write_text(new, encoding="utf-8")
            changed.append(path)
    return changed


def tidy_imports(files: list[Path]) -> None:
    """Re-sort the rewritten import blocks (ruff isort + format), when ruff is at hand."""
    python = [str(p) for p in files if p.suffix == ".py"]
    venv_ruff = ROOT / ".venv" / "bin" / "ruff"
    ruff = shutil.which("ruff") or (str(venv_ruff) if venv_ruff.is_file() else None)
    if not python or ruff is None:
        return
    subprocess.run([ruff, "check", "--select", "I", "--fix", "-q", *python], cwd=ROOT, check=False)
    subprocess.run([ruff, "format", "-q", *python], cwd=ROOT, check=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="list the moves, change nothing")
    args = parser.parse_args()
    moves = planned_moves()
    for src, dst in moves:
        print(f"move {src} -> {dst}")
    if args.dry_run:
        return 0
    move_files(moves)
    created = add_package_inits()
    changed = rewrite_files()
    tidy_imports(changed + created)
    for path in changed:
        print(f"rewrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

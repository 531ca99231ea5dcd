"""Name the tool behind a process: ``claude`` rather than ``node``.

AI CLIs are mostly scripts run by a runtime (node, bun, deno, python), so the process name says
only which runtime. The tool is found, in order, from: the executable's own name when it is a
known tool; else, for a runtime, the script it was started with (``python -m`` module, or the
script path: the nearest ``package.json`` above it, its ``name`` or the ``bin`` entry pointing
at the script, else the script's own name); else the executable's name.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path, PurePath
from typing import Any

KNOWN_TOOLS: Mapping[str, str] = {
    "claude": "claude", "claude-code": "claude", "qwen": "qwen", "qwen-code": "qwen",
    "gemini": "gemini", "gemini-cli": "gemini", "codex": "codex", "codex-cli": "codex",
    "copilot": "copilot", "github-copilot": "copilot", "copilot-language-server": "copilot",
    "cursor": "cursor", "cursor-agent": "cursor", "aider": "aider", "continue": "continue",
    "cn": "continue", "cline": "cline", "opencode": "opencode", "goose": "goose", "amp": "amp",
    "crush": "crush", "windsurf": "windsurf", "zed": "zed", "zed-editor": "zed",
    "kilocode": "kilocode", "kilo": "kilocode", "roo": "roo", "auggie": "augment",
    "llm": "llm", "ollama": "ollama", "tabnine": "tabnine", "cody": "cody",
}  # fmt: skip
"""Executable, script or bin names of AI tools, and the name an event gives each."""

KNOWN_PACKAGES: Mapping[str, str] = {
    "@anthropic-ai/claude-code": "claude", "@qwen-code/qwen-code": "qwen",
    "@google/gemini-cli": "gemini", "@openai/codex": "codex", "@github/copilot": "copilot",
    "@githubnext/github-copilot-cli": "copilot", "opencode-ai": "opencode",
    "@sourcegraph/amp": "amp", "@continuedev/cli": "continue", "cline": "cline",
    "@kilocode/cli": "kilocode", "@augmentcode/auggie": "augment", "aider-chat": "aider",
    "@charmland/crush": "crush", "@vscode/copilot-language-server": "copilot",
    "@github/copilot-language-server": "copilot",
}  # fmt: skip
"""npm and PyPI package names of AI tools."""

RUNTIMES = frozenset({"node", "nodejs", "bun", "deno", "python", "pythonw", "pypy", "pypy3"})
_PYTHON = re.compile(r"^(python|pypy)\d*(\.\d+)*w?$")
_NODE_OPTIONS_WITH_VALUE = frozenset({
    "-r", "--require", "--import", "--loader", "--experimental-loader", "--conditions", "-C",
    "--inspect-port", "--title", "--env-file", "--input-type", "--stack-size",
})  # fmt: skip
_PYTHON_OPTIONS_WITH_VALUE = frozenset({"-W", "-X", "--check-hash-based-pycs"})
_SCRIPT_SUFFIXES = (".js", ".mjs", ".cjs", ".ts", ".mts", ".py", ".exe", ".cmd", ".bat")
PACKAGE_LEVELS = 8
"""Folders above a script searched for its package.json."""

ReadPackage = Callable[[str], Mapping[str, Any] | None]


def _bare(name: str) -> str:
    """``claude`` from ``/usr/bin/Claude.exe`` or ``cli.js``: lower case, no folder or suffix."""
    base = PurePath(name.replace("\\", "/")).name.lower()
    for suffix in _SCRIPT_SUFFIXES:
        if base.endswith(suffix):
            return base.removesuffix(suffix)
    return base


def is_runtime(name: str) -> bool:
    bare = _bare(name)
    return bare in RUNTIMES or bool(_PYTHON.match(bare))


def script_of(args: Sequence[str]) -> tuple[str, str] | None:
    """``("module", name)`` or ``("path", script)`` a runtime command line runs, if any."""
    if not args:
        return None
    runtime = _bare(args[0])
    python = bool(_PYTHON.match(runtime))
    rest = list(args[1:])
    if runtime == "deno" or (runtime == "bun" and rest[:1] in (["run"], ["x"])):
        rest = rest[1:] if rest[:1] in (["run"], ["x"]) else rest
    with_value = _PYTHON_OPTIONS_WITH_VALUE if python else _NODE_OPTIONS_WITH_VALUE
    skip = False
    for position, arg in enumerate(rest):
        if skip:
            skip = False
            continue
        if python and arg == "-m" and position + 1 < len(rest):
            return "module", rest[position + 1].split(".")[0]
        if python and arg == "-c":
            return None
        if arg in ("-e", "--eval", "-p", "--print") and not python:
            return None
        if arg.startswith("-"):
            skip = arg in with_value
            continue
        return "path", arg
    return None


def _bin_for(package: Mapping[str, Any], script: Path, folder: Path) -> str | None:
    """The ``bin`` name whose target is ``script``, or the only bin there is."""
    bins = package.get("bin")
    if isinstance(bins, str):
        return None  # a bare bin string is named after the package
    if not isinstance(bins, Mapping):
        return None
    for name, target in bins.items():
        if isinstance(target, str) and (folder / target).resolve() == script:
            return str(name)
    return str(next(iter(bins))) if len(bins) == 1 else None


def tool_of_script(script: str, cwd: str | None, read_package: ReadPackage) -> str:
    """The tool a script path belongs to: a known name, its package, or its own name."""
    bare = _bare(script)
    if bare in KNOWN_TOOLS:
        return KNOWN_TOOLS[bare]
    path = Path(script)
    if not path.is_absolute() and cwd:
        path = Path(cwd) / path
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError):
        return bare
    if _bare(resolved.name) in KNOWN_TOOLS:
        return KNOWN_TOOLS[_bare(resolved.name)]
    for folder in list(resolved.parents)[:PACKAGE_LEVELS]:
        package = read_package(str(folder))
        if package is None:
            continue
        name = package.get("name")
        if isinstance(name, str) and name in KNOWN_PACKAGES:
            return KNOWN_PACKAGES[name]
        bin_name = _bin_for(package, resolved, folder)
        if bin_name:
            return KNOWN_TOOLS.get(bin_name.lower(), bin_name.lower())
        if isinstance(name, str) and name:
            short = name.rsplit("/", 1)[-1].lower()
            return KNOWN_TOOLS.get(short, short)
        break
    # Bundled single-file tools (dist/cli.js) are named by their folder's owner above.
    return bare


def tool_name(
    name: str,
    exe: str | None,
    args: Sequence[str] | None,
    cwd: str | None = None,
    read_package: ReadPackage | None = None,
) -> str:
    """The tool an event names for a process (see the module docstring for the order)."""
    read = read_package or read_package_json
    for candidate in (name, exe or "", (args or [""])[0]):
        if candidate and _bare(candidate) in KNOWN_TOOLS:
            return KNOWN_TOOLS[_bare(candidate)]
    if args and (is_runtime(name) or is_runtime(exe or "") or is_runtime(args[0])):
        found = script_of(args)
        if found is not None:
            kind, value = found
            if kind == "module":
                return KNOWN_TOOLS.get(value.lower(), value.lower())
            return tool_of_script(value, cwd, read)
    return _bare(name) or _bare(exe or "") or name


@lru_cache(maxsize=512)
def read_package_json(folder: str) -> Mapping[str, Any] | None:
    """``folder/package.json`` as a mapping (None when absent, unreadable or not JSON)."""
    path = os.path.join(folder, "package.json")
    try:
        if os.path.getsize(path) > 1_000_000:
            return None
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None

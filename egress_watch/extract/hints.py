"""File-path hints: which file a piece of text came from, when the request says so (pure)."""

from __future__ import annotations

import re
import shlex
from typing import Any

from egress_watch.decoding import jsonsafe

# Argument names coding tools use for the file a call reads or writes.
PATH_KEYS = (
    "path",
    "file_path",
    "filePath",
    "filepath",
    "filename",
    "file_name",
    "target_file",
    "relative_workspace_path",
    "relativeFilePath",
    "absolute_path",
    "absolutePath",
    "uri",
    "notebook_path",
)
_TEXT_HINTS = (
    re.compile(r"^(?:#|//|--|;)\s*Path:\s*(\S[^\r\n]*)", re.MULTILINE),  # Copilot ghost text
    re.compile(r"Content from @([^\r\n:]+):"),  # Gemini CLI @path
    re.compile(r"Codebase context from file (\S+?)[:\s]"),  # Sourcegraph Cody
    re.compile(r"^\*\*\* (?:Update|Add|Delete) File: (\S[^\r\n]*)", re.MULTILINE),  # apply_patch
    re.compile(r"<attachment\b[^>]*\bfilePath=\"([^\"]+)\""),  # Copilot chat attachments
    re.compile(r"^\[(?:read_file|write_to_file|replace_in_file) for '([^']+)'\]", re.MULTILINE),
)
_MAX_SCAN = 4096
READERS = frozenset({"cat", "head", "tail", "less", "more", "bat", "nl", "sed", "awk", "grep"})
"""Shell commands whose file arguments are what the tool result shows."""
_SHELLS = frozenset({"bash", "sh", "zsh", "/bin/bash", "/bin/sh", "/usr/bin/bash"})


def hint_from_command(command: Any) -> str | None:
    """The file a shell tool call reads: ``cat config/.env``, ``["bash", "-lc", "head -5 x"]``."""
    if isinstance(command, list) and command and all(isinstance(c, str) for c in command):
        if command[0] in _SHELLS and len(command) >= 3:
            return hint_from_command(command[-1])
        words = list(command)
    elif isinstance(command, str) and len(command) < 1024:
        try:
            words = shlex.split(command)
        except ValueError:
            return None
    else:
        return None
    if not words or words[0].rsplit("/", 1)[-1] not in READERS or "|" in words:
        return None
    files = [w for w in words[1:] if not w.startswith("-") and "'" not in w]
    if words[0].endswith(("sed", "awk", "grep")):
        files = files[1:]  # the script or pattern comes first
    return files[-1] if files else None


def hint_from_mapping(node: Any) -> str | None:
    """The first path-like argument of a tool call or context object, if any."""
    if not isinstance(node, dict):
        return None
    for key in PATH_KEYS:
        value = node.get(key)
        if isinstance(value, str) and value.strip() and len(value) < 1024:
            return value.strip()
    for key in ("command", "cmd"):
        if key in node:
            return hint_from_command(node[key])
    return None


def hint_from_json_text(text: str) -> str | None:
    """Path hint of a JSON-in-a-string tool-call ``arguments`` value."""
    try:
        return hint_from_mapping(jsonsafe.loads(text))
    except ValueError:
        return None


def hint_from_text(text: str) -> str | None:
    """A file path named by the framing tools put around file contents in prompts."""
    head = text[:_MAX_SCAN]
    for pattern in _TEXT_HINTS:
        match = pattern.search(head)
        if match:
            return match.group(1).strip()
    return None

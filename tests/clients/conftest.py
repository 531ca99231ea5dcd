"""Where the real AI CLIs are: installed by ``.ci/run`` from ``tests/clients/package.json``.

``EGRESS_WATCH_CLIENTS`` names the folder holding ``node_modules`` (default: the CI cache,
``~/.cache/egress-watch/clients``). A client that is not installed is skipped with the reason.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

CLIENTS_ENV = "EGRESS_WATCH_CLIENTS"


def clients_dir() -> Path:
    chosen = os.environ.get(CLIENTS_ENV)
    if chosen:
        return Path(chosen)
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "egress-watch" / "clients"


def client_bin(name: str) -> Path | None:
    """The installed CLI ``name`` (claude, qwen, gemini, codex), or None."""
    candidate = clients_dir() / "node_modules" / ".bin" / name
    if candidate.exists() and shutil.which("node"):
        return candidate
    return None


def missing_reason(name: str) -> str:
    if shutil.which("node") is None:
        return "node is not installed (the real CLIs run on it)"
    return (
        f"{name} is not installed in {clients_dir()}/node_modules: run .ci/run, or "
        f"`npm install --prefix {clients_dir()}` with tests/clients/package*.json copied there "
        f"(or set {CLIENTS_ENV})"
    )

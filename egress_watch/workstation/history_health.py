"""How the daemon tells that its history is not being written: status fields, a line, an alert.

Pure functions over the writer's ``HistoryHealth``, plus the state file write that still works
on a full disk (it rewrites the existing file in place when a new one cannot be created).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from egress_watch.store.writer import HistoryHealth
from egress_watch.workstation.notify import Note

STATE_PAD = 4096
"""The state file is padded to this size, so an in-place rewrite needs no new disk blocks."""


def history_fields(health: HistoryHealth) -> dict[str, Any]:
    """The fields ``status --json`` carries about the history (additive to the old record)."""
    return {
        "history": "degraded" if health.degraded else "ok",
        "history_error": health.reason,
        "history_degraded_since": health.since,
        "spooled": health.spooled,
        "lost": health.lost,
    }


def history_line(status: Mapping[str, Any]) -> str | None:
    """One line for ``status`` when the history is degraded or events were lost, else None."""
    lost = int(status.get("lost") or 0)
    if status.get("history") != "degraded" and not lost:
        return None
    parts = []
    if status.get("history") == "degraded":
        since = status.get("history_degraded_since")
        when = time.strftime(" since %H:%M:%S", time.localtime(float(since))) if since else ""
        parts.append(f"history DEGRADED{when}: {status.get('history_error') or 'write failed'}")
        parts.append(f"{int(status.get('spooled') or 0)} event(s) spooled, replayed when writable")
    if lost:
        parts.append(f"{lost} event(s) LOST (history and spool full)")
    return "; ".join(parts)


def history_fix(home: Path) -> str:
    return (
        f"free disk space under {home}, make it writable, or close the program holding "
        "history.db open for writing; spooled events are replayed automatically"
    )


def degraded_note(health: HistoryHealth, home: Path) -> Note:
    """The one desktop alert of a degraded episode: what failed and what to do."""
    body = (
        f"Events are being spooled ({health.spooled} so far) because the history cannot be "
        f"written: {health.reason or 'write failed'}.\n{history_fix(home)}"
    )
    return Note("egress-watch: history not writable", body, urgent=True)


def write_state_file(path: Path, state: Mapping[str, Any]) -> None:
    """Replace ``path`` atomically; on a full disk, rewrite the existing file in place instead."""
    text = json.dumps(state)
    data = (text + " " * max(0, STATE_PAD - len(text) - 1) + "\n").encode()
    tmp = path.with_suffix(".tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        tmp.replace(path)
    except OSError:
        tmp.unlink(missing_ok=True)
        if not path.exists() or path.stat().st_size < len(data):
            raise
        fd = os.open(path, os.O_WRONLY)  # the blocks exist already: no new space needed
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)

"""The daemon's health record: the counters and state file ``egress-watch status`` reads, and
the one desktop alert when the history stops taking writes.

Apart from the addon because it is about the process, not about any one request.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from mitmproxy import ctx

from egress_watch.config.settings import Settings
from egress_watch.decide.vault import Vault
from egress_watch.paths import HomePaths
from egress_watch.workstation.history_health import degraded_note, history_fields, write_state_file
from egress_watch.workstation.notify import Notifier

log = logging.getLogger(__name__)

STATE_INTERVAL_S = 2.0


@dataclass
class Stats:
    """Counters the daemon publishes for ``egress-watch status``."""

    started_at: float = field(default_factory=time.time)
    requests: int = 0
    events: int = 0
    errors: int = 0
    blocked: int = 0
    redacted: int = 0
    uninspected: int = 0
    failed: int = 0
    """Requests forwarded whose upstream failed (down, reset) before answering."""


class Running(Protocol):
    """What the health record reads from the running addon (read anew each time: a reconfigure
    replaces the settings, the home and the writer)."""

    settings: Settings
    paths: HomePaths | None
    writer: Any
    stats: Stats
    vault: Vault
    notifier: Notifier


class Health:
    """Builds and publishes the health record of one running addon."""

    def __init__(self, running: Running) -> None:
        self._running = running
        self._history_alerted = False

    def state(self) -> dict[str, Any]:
        """The health record ``egress-watch status`` reads."""
        running = self._running
        return {
            "pid": os.getpid(),
            "listen_host": ctx.options.listen_host or "0.0.0.0",  # noqa: S104 - report, not bind
            "listen_port": ctx.options.listen_port,
            "mode": running.settings.mode.value,
            "database": str(running.paths.database) if running.paths else None,
            "updated_at": time.time(),
            "restore_held": running.vault.held,
            **asdict(running.stats),
            **(history_fields(running.writer.health()) if running.writer is not None else {}),
        }

    def write_state(self) -> None:
        if self._running.paths is not None:
            write_state_file(self._running.paths.state, self.state())

    def watch_history(self) -> None:
        """One desktop alert when the history stops taking writes; re-armed once it recovers."""
        running = self._running
        if running.writer is None or running.paths is None:
            return
        health = running.writer.health()
        if health.degraded and not self._history_alerted:
            self._history_alerted = True
            running.notifier.alert(degraded_note(health, running.paths.home))
        elif not health.degraded:
            self._history_alerted = False

    async def publish(self) -> None:
        """Every STATE_INTERVAL_S until cancelled: check the history, rewrite the state file."""
        while True:
            await asyncio.sleep(STATE_INTERVAL_S)
            self.watch_history()
            try:
                self.write_state()
            except OSError as error:
                log.warning(
                    "egress-watch: cannot write %s: %s", self._running.paths, error.strerror
                )

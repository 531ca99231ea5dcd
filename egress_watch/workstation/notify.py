"""Desktop notifications for alert-level findings: once per value, a few per minute at most.

notify-send on Linux, osascript on macOS. A notification names the rule, the masked preview,
the service and the process, never the value. A missing notifier is logged once, not an error.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import subprocess
import sys
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from egress_watch.model import Action, Category, Finding, ProcessInfo, Severity

log = logging.getLogger(__name__)

DEDUP_WINDOW_S = 3600.0
"""The same fingerprint is notified at most once in this window."""
RATE_WINDOW_S = 60.0
MAX_PER_WINDOW = 5
"""At most this many notifications per RATE_WINDOW_S; the rest are counted into the next."""
MAX_REMEMBERED = 10_000
SEND_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class Note:
    """One desktop notification: a title and a body, both free of secret values."""

    title: str
    body: str
    urgent: bool


def compose(
    findings: Sequence[Finding],
    service: str,
    action: Action,
    process: ProcessInfo | None,
    suppressed: int = 0,
) -> Note:
    """Say what left (or was stopped), to which service, from which process."""
    verb = {Action.BLOCK: "blocked", Action.REDACT: "redacted"}.get(action, "sent")
    what = "request" if all(f.rule == "destination-policy" for f in findings) else "secret"
    who = f" by {process.tool_or_name} (pid {process.pid})" if process else ""
    lines = [f"{f.severity.label} {f.rule}: {f.masked}" for f in findings[:3]]
    if len(findings) > 3:
        lines.append(f"and {len(findings) - 3} more")
    if suppressed:
        lines.append(f"({suppressed} earlier alerts not shown)")
    unread = all(f.category is Category.UNINSPECTED for f in findings)
    if unread:
        what = "unreadable body"
        lines.append('uninspected = "monitor" under [policy] in config.toml stops these alerts')
    elif what == "secret":
        lines.append("egress-watch allow FINGERPRINT --reason TEXT stops alerts for a value")
    title = f"egress-watch: {what} {verb} — {service}{who}"
    urgent = any(f.severity >= Severity.CRITICAL for f in findings)
    return Note(title, "\n".join(lines), urgent)


def _applescript_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def command_for(note: Note, platform: str = sys.platform) -> list[str] | None:
    """The argv that shows ``note`` here, or None when this platform has no notifier."""
    if platform == "darwin":
        if shutil.which("osascript") is None:
            return None
        script = (
            f"display notification {_applescript_string(note.body)} "
            f"with title {_applescript_string(note.title)}"
        )
        return ["osascript", "-e", script]
    path = shutil.which("notify-send")
    if path is None:
        return None
    urgency = "critical" if note.urgent else "normal"
    return [path, "--app-name=egress-watch", f"--urgency={urgency}", note.title, note.body]


def run_command(argv: list[str]) -> None:
    """Run a notifier without a shell; its failure is logged, never raised."""
    try:
        subprocess.run(  # noqa: S603 - a fixed notifier and our own text, no shell
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=SEND_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        log.warning("egress-watch: notification failed (%s)", type(error).__name__)


class Notifier:
    """Deduplicates by fingerprint and rate-limits; ``select`` is cheap, ``send`` runs a process."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        runner: Callable[[list[str]], None] = run_command,
        platform: str = sys.platform,
    ) -> None:
        self.clock = clock
        self.runner = runner
        self.platform = platform
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._sent: deque[float] = deque()
        self.suppressed = 0
        self._missing_logged = False
        self._pending: set[asyncio.Task[bool]] = set()

    def select(self, findings: Sequence[Finding]) -> tuple[Finding, ...]:
        """The findings not notified within the dedup window, remembered as notified now.

        Returns nothing when the rate limit is reached (they are counted as suppressed).
        """
        now = self.clock()
        fresh = tuple(
            f
            for f in findings
            if now - self._seen.get(f.fingerprint, -DEDUP_WINDOW_S * 2) >= DEDUP_WINDOW_S
        )
        fresh = tuple({f.fingerprint: f for f in fresh}.values())
        if not fresh:
            return ()
        while self._sent and now - self._sent[0] >= RATE_WINDOW_S:
            self._sent.popleft()
        for finding in fresh:
            self._seen[finding.fingerprint] = now
            self._seen.move_to_end(finding.fingerprint)
        while len(self._seen) > MAX_REMEMBERED:
            self._seen.popitem(last=False)
        if len(self._sent) >= MAX_PER_WINDOW:
            self.suppressed += 1
            return ()
        self._sent.append(now)
        return fresh

    def note_for(
        self,
        findings: Sequence[Finding],
        service: str,
        action: Action,
        process: ProcessInfo | None,
    ) -> Note | None:
        """The note to show for a request's alerts, or None when nothing new may be shown."""
        fresh = self.select(findings)
        if not fresh:
            return None
        note = compose(fresh, service, action, process, self.suppressed)
        self.suppressed = 0
        return note

    def send(self, note: Note) -> bool:
        """Show ``note`` (blocking: call from a worker thread); False when there is no notifier."""
        argv = command_for(note, self.platform)
        if argv is None:
            if not self._missing_logged:
                log.warning("egress-watch: no desktop notifier found (notify-send / osascript)")
                self._missing_logged = True
            return False
        self.runner(argv)
        return True

    def alert(self, note: Note) -> asyncio.Task[bool]:
        """Show a health alert in the background: not a finding, so not deduplicated here."""
        task = asyncio.get_running_loop().create_task(asyncio.to_thread(self.send, note))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
        return task

    def dispatch(
        self,
        findings: Sequence[Finding],
        service: str,
        action: Action,
        process: ProcessInfo | None,
    ) -> asyncio.Task[bool] | None:
        """Notify in the background (from the event loop), so the request never waits on it."""
        note = self.note_for(findings, service, action, process) if findings else None
        if note is None:
            return None
        task = asyncio.get_running_loop().create_task(asyncio.to_thread(self.send, note))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
        return task

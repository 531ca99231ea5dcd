"""Which local process opened a connection to the proxy: pid, exe, masked command line, parents.

The socket table (psutil) maps the client's source address to the process owning it; without
root this works for the user's own processes, which is what a developer's tools are. Lookups
run off the event loop, once per client connection.
"""

from __future__ import annotations

import asyncio
import logging
import math
import shlex
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import psutil

from egress_watch.capture.cmdline import MASK, mask_args
from egress_watch.capture.toolname import tool_name
from egress_watch.decide.rewrite import redact_text
from egress_watch.model import Finding, ProcessInfo

log = logging.getLogger(__name__)

Classify = Callable[[str], Sequence[Finding]]
Address = tuple[Any, ...]

CMDLINE_HEAD = 300
"""Characters of the (masked) command line kept on an event."""
CMDLINE_SCANNED = 4096
MAX_PARENTS = 12
MAX_CACHED = 4096
# Where a parent chain stops: the IDE or terminal the user started the tool from.
IDE_OR_TERMINAL = frozenset(
    {
        "code", "code-insiders", "code-oss", "codium", "cursor", "windsurf", "zed", "zed-editor",
        "idea", "pycharm", "webstorm", "goland", "clion", "rider", "rustrover", "phpstorm",
        "rubymine", "datagrip", "fleet", "android-studio", "sublime_text", "emacs",
        "gnome-terminal-server", "gnome-terminal", "konsole", "xterm", "alacritty", "kitty",
        "wezterm-gui", "tilix", "terminator", "foot", "xfce4-terminal", "ghostty", "iterm2",
        "terminal", "warp", "tmux: server", "tmux", "screen", "sshd", "login",
    }
)  # fmt: skip


def _host(address: Address) -> str:
    """An IPv4-mapped IPv6 address as plain IPv4, so both socket views compare equal."""
    return str(address[0]).removeprefix("::ffff:")


def _matches(laddr: Any, raddr: Any, peer: Address, proxy: Address | None) -> bool:
    if not laddr or laddr.port != peer[1] or _host(laddr) != _host(peer):
        return False
    return proxy is None or (bool(raddr) and raddr.port == proxy[1])


class _SocketTable:
    """psutil's TCP socket table, shared by the lookups waiting for it.

    Reading it walks every process's descriptors (tens of ms on a busy machine); when many
    clients connect at once (a tool opening a pool of connections, a load test) one reading
    serves every lookup asked for before it began, since their sockets are in it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._read_at = -math.inf
        self._table: list[Any] = []  # psutil's sconn tuples

    def read_since(self, asked: float) -> list[Any]:
        """A table read after ``asked`` (``time.monotonic()``); raises psutil.AccessDenied."""
        with self._lock:
            if self._read_at < asked:
                read_at = time.monotonic()
                self._table = psutil.net_connections(kind="tcp")
                self._read_at = read_at
            return self._table


_sockets = _SocketTable()


def owner_pid(
    peer: Address, proxy: Address | None = None, asked: float | None = None
) -> int | None:
    """The pid whose TCP socket has local address ``peer`` (and remote ``proxy``), if visible.

    ``asked`` (``time.monotonic()``, default now) is when the socket was known to exist: a
    socket table read since then has it.
    """
    try:
        connections = _sockets.read_since(time.monotonic() if asked is None else asked)
    except psutil.AccessDenied:  # macOS needs root for the whole table: ask process by process
        return _owner_among_own_processes(peer, proxy)
    for conn in connections:
        if conn.pid and _matches(conn.laddr, conn.raddr, peer, proxy):
            return int(conn.pid)
    return None


def _owner_among_own_processes(peer: Address, proxy: Address | None) -> int | None:
    for process in psutil.process_iter():
        try:
            for conn in process.net_connections(kind="tcp"):
                if _matches(conn.laddr, conn.raddr, peer, proxy):
                    return process.pid
        except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
    return None


def masked_cmdline(args: Sequence[str], classify: Classify) -> str:
    """The head of a command line with every secret replaced: by position and name (cmdline.py),
    then by content."""
    # Quoted like a shell would take it, except our own masks, which hold nothing to escape.
    words = (a if a.endswith(MASK) and " " not in a else shlex.quote(a) for a in mask_args(args))
    text = " ".join(words)[:CMDLINE_SCANNED]
    findings = classify(text)
    if findings:
        text = redact_text(text, findings)
    return text[:CMDLINE_HEAD]


def repo_root(directory: str | None) -> str | None:
    """The nearest folder at or above ``directory`` holding ``.git``, or None."""
    if not directory:
        return None
    path = Path(directory)
    for candidate in (path, *path.parents):
        try:
            if (candidate / ".git").exists():
                return str(candidate)
        except OSError:
            return None
    return None


def parent_chain(process: psutil.Process) -> tuple[str, ...]:
    """``name[pid]`` of each parent, nearest first, up to the IDE or terminal (or init)."""
    chain: list[str] = []
    try:
        parents = process.parents()
    except (psutil.Error, OSError):
        return ()
    for parent in parents[:MAX_PARENTS]:
        try:
            name = parent.name()
        except psutil.Error:
            name = "?"
        if parent.pid <= 1:
            break
        chain.append(f"{name}[{parent.pid}]")
        if name.lower().removesuffix(".exe").removesuffix(".app") in IDE_OR_TERMINAL:
            break
    return tuple(chain)


def _try[T](read: Callable[[], T]) -> T | None:
    try:
        return read()
    except (psutil.Error, OSError):
        return None


def describe(pid: int, classify: Classify) -> ProcessInfo | None:
    """What the event records about ``pid``; fields the OS will not show are left empty."""
    try:
        process = psutil.Process(pid)
        name = process.name()
    except (psutil.Error, OSError):
        return None
    args = _try(process.cmdline)
    cwd = _try(process.cwd)
    exe = _try(process.exe) or None
    return ProcessInfo(
        pid=pid,
        name=name,
        exe=exe,
        cmdline=masked_cmdline(args, classify) if args else None,
        parents=parent_chain(process),
        cwd=cwd or None,
        repo=repo_root(cwd),
        tool=_try(lambda: tool_name(name, exe, args, cwd)),
    )


class _Descriptions:
    """``describe`` results for a few seconds, per process (pid and start time, so a reused pid
    is a new process): a tool opening many connections at once is described once."""

    def __init__(self, ttl_s: float = 5.0) -> None:
        self._ttl = ttl_s
        self._lock = threading.Lock()
        self._known: OrderedDict[tuple[int, float], tuple[float, ProcessInfo | None]] = (
            OrderedDict()
        )

    def get(self, pid: int, classify: Classify) -> ProcessInfo | None:
        try:
            key = (pid, psutil.Process(pid).create_time())
        except (psutil.Error, OSError):
            return None
        now = time.monotonic()
        with self._lock:  # one describes, the others wait for it and share the result
            known = self._known.get(key)
            if known is None or now - known[0] > self._ttl:
                known = (now, describe(pid, classify))
                self._known[key] = known
                while len(self._known) > MAX_CACHED:
                    self._known.popitem(last=False)
            return known[1]


_described = _Descriptions()


def attribute(
    peer: Address | None, proxy: Address | None, classify: Classify, asked: float | None = None
) -> ProcessInfo | None:
    """The process behind a client connection from this machine; None for remote clients.

    ``asked``: when the client was seen connected (see ``owner_pid``).
    """
    if not peer or len(peer) < 2:
        return None
    try:
        pid = owner_pid(peer, proxy, asked)
        return _described.get(pid, classify) if pid else None
    except (psutil.Error, OSError) as error:
        log.warning("egress-watch: process attribution failed (%s)", type(error).__name__)
        return None


class ConnectionProcesses:
    """Per-connection lookups started when a client connects, awaited by its requests."""

    def __init__(self, classify: Classify) -> None:
        self.classify = classify
        self._tasks: OrderedDict[str, asyncio.Task[ProcessInfo | None]] = OrderedDict()

    def start(
        self, connection_id: str, peer: Address | None, proxy: Address | None
    ) -> asyncio.Task[ProcessInfo | None]:
        """Begin looking up the connection's process, once; call from the event loop."""
        task = self._tasks.get(connection_id)
        if task is None:
            task = asyncio.get_running_loop().create_task(
                asyncio.to_thread(attribute, peer, proxy, self.classify, time.monotonic())
            )
            self._tasks[connection_id] = task
            while len(self._tasks) > MAX_CACHED:
                self._tasks.popitem(last=False)
        return task

    async def get(
        self, connection_id: str, peer: Address | None, proxy: Address | None
    ) -> ProcessInfo | None:
        """The connection's process (looked up now if its connect was not seen)."""
        task = self.start(connection_id, peer, proxy)
        try:
            return await asyncio.shield(task)
        except Exception as error:
            log.warning("egress-watch: process attribution failed (%s)", type(error).__name__)
            return None

    def forget(self, connection_id: str) -> None:
        self._tasks.pop(connection_id, None)

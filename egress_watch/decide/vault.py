"""Originals of redacted values, held in process memory only, so answers can be restored.

Each conversation maps its placeholders to the values they replaced. The vault is bounded
(values and bytes, least recently used conversation evicted first) and forgets a conversation
that stayed idle for ``idle_ttl_s``. Nothing here is ever written anywhere: a restart empties
it, and the first value stored turns core dumps and same-user memory access off for the
process (where the platform allows).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import resource
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

PR_SET_DUMPABLE = 4


@dataclass
class _Conversation:
    by_fingerprint: dict[str, str] = field(default_factory=dict)
    """Fingerprint of a value -> its placeholder: the same value always gets the same one."""
    originals: dict[str, str] = field(default_factory=dict)
    """Placeholder -> the value it replaced (only when restore is on)."""
    size: int = 0
    last_used: float = 0.0


def harden_process() -> bool:
    """No core dumps, and no ptrace or /proc/<pid>/mem by other same-user processes.

    Returns whether the stronger protection (``prctl``) applied.
    """
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ValueError, OSError):  # pragma: no cover - refused by a hard limit policy
        log.warning("egress-watch: could not disable core dumps")
    name = ctypes.util.find_library("c")
    if name is None:  # pragma: no cover - not glibc/musl
        return False
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        return bool(libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0)
    except (OSError, AttributeError):  # pragma: no cover - no prctl on this platform
        return False


class Vault:
    """Thread-safe: inspections name placeholders in worker threads, restores read on the loop."""

    def __init__(
        self,
        max_values: int = 10_000,
        max_bytes: int = 4 * 2**20,
        idle_ttl_s: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
        harden: Callable[[], object] = harden_process,
    ) -> None:
        self.max_values = max_values
        self.max_bytes = max_bytes
        self.idle_ttl_s = idle_ttl_s
        self._clock = clock
        self._harden: Callable[[], object] | None = harden
        self._lock = threading.Lock()
        self._conversations: OrderedDict[str, _Conversation] = OrderedDict()
        self._values = 0
        self._bytes = 0
        self._aliases: OrderedDict[str, str] = OrderedDict()
        """Another key of a conversation (a Responses ``previous_response_id``) -> its key."""
        self.max_aliases = max_values

    def placeholder(
        self,
        conversation: str,
        fingerprint: str,
        value: str,
        candidates: Callable[[int], str],
        keep_original: bool = True,
    ) -> str:
        """The conversation's placeholder for ``value``, made by ``candidates(attempt)``.

        The first candidate no other value of the conversation uses wins, so different values
        never share a placeholder. With ``keep_original`` the value is held for restoring.
        """
        with self._lock:
            self._expire()
            conversation = self._aliases.get(conversation, conversation)
            held = self._conversations.get(conversation)
            if held is None:
                held = self._conversations[conversation] = _Conversation()
            self._conversations.move_to_end(conversation)
            held.last_used = self._clock()
            name = held.by_fingerprint.get(fingerprint)
            if name is None:
                taken = set(held.by_fingerprint.values())
                name = next(c for c in map(candidates, range(64)) if c not in taken)
                held.by_fingerprint[fingerprint] = name
            if keep_original and name not in held.originals:
                self._hold(held, name, value)
            return name

    def _hold(self, held: _Conversation, name: str, value: str) -> None:
        if self._harden is not None:
            self._harden()
            self._harden = None
        size = len(name) + len(value)
        held.originals[name] = value
        held.size += size
        self._values += 1
        self._bytes += size
        self._evict()
        if self._values > self.max_values or self._bytes > self.max_bytes:
            # This conversation alone is over the bounds: its newest value is not kept.
            del held.originals[name]
            held.size -= size
            self._values -= 1
            self._bytes -= size

    def originals(self, conversation: str) -> dict[str, str]:
        """A copy of the conversation's placeholder -> original table (empty when unknown)."""
        with self._lock:
            self._expire()
            held = self._conversations.get(self._aliases.get(conversation, conversation))
            if held is None:
                return {}
            held.last_used = self._clock()
            self._conversations.move_to_end(conversation)
            return dict(held.originals)

    def resolve(self, conversation: str) -> str:
        """The conversation ``conversation`` continues (itself unless it is an alias)."""
        with self._lock:
            return self._aliases.get(conversation, conversation)

    def alias(self, other: str, conversation: str) -> None:
        """Let ``other`` name ``conversation`` too (bounded: the oldest aliases go first)."""
        with self._lock:
            self._aliases[other] = self._aliases.get(conversation, conversation)
            self._aliases.move_to_end(other)
            while len(self._aliases) > self.max_aliases:
                self._aliases.popitem(last=False)

    @property
    def held(self) -> int:
        """How many original values are in memory now."""
        with self._lock:
            self._expire()
            return self._values

    def clear(self) -> None:
        with self._lock:
            self._conversations.clear()
            self._aliases.clear()
            self._values = self._bytes = 0

    def _drop(self, conversation: str) -> None:
        held = self._conversations.pop(conversation)
        self._values -= len(held.originals)
        self._bytes -= held.size

    def _expire(self) -> None:
        cutoff = self._clock() - self.idle_ttl_s
        while self._conversations:
            oldest, held = next(iter(self._conversations.items()))
            if held.last_used > cutoff:
                return
            self._drop(oldest)

    def _evict(self) -> None:
        """Least recently used conversations go first, never the one in use (the last)."""
        while len(self._conversations) > 1 and (
            self._values > self.max_values or self._bytes > self.max_bytes
        ):
            self._drop(next(iter(self._conversations)))

"""Private key blocks, whole: a bare BEGIN header is code or docs, a header with its body a key.

Split out of secrets.py; it is one detector family with its own per-thread cache of END markers,
so a thousand headers without an END cost one search of the text, not a thousand.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from typing import Final

from egress_watch.classify.kinds import Detector, Hit, Kind
from egress_watch.classify.prefilter import Anchor, Gate
from egress_watch.classify.spans import skip
from egress_watch.model import Severity


class PrivateKeys(Detector):
    """Private key blocks, whole: from the BEGIN armor through END (PEM) or Private-MAC (PuTTY)."""

    KIND: Final = Kind("private-key", Severity.CRITICAL, "private key")
    EXTRA: Final = (re.compile("BEGIN ENCRYPTED PRIVATE KEY"), re.compile("PuTTY-User-Key-File-3"))
    MAX_BLOCK: Final = 64 * 1024
    MIN_BODY: Final = 64  # base64 characters; a bare header is code or docs, not a key
    BODY: Final = re.compile(r"(?:(?:\r?\n|\\r?\\n)[ \t]*[A-Za-z0-9+/=]+)+")
    NON_B64: Final = re.compile(r"\\[nrt]|[^A-Za-z0-9+/=]")
    PUTTY_MAC: Final = re.compile(r"Private-MAC: *[0-9a-fA-F]+")
    ARMOR: Final = re.compile(r"[ -]*")

    def __init__(self, headers: tuple[re.Pattern[str], ...]) -> None:
        """``headers``: detect-secrets' BEGIN regexes (only secrets.py imports detect_secrets)."""
        self.gate = Gate((Anchor("private key"), Anchor("putty-user-key-file-")))
        self._headers = (*headers, *self.EXTRA)
        self._local = threading.local()  # per thread: the text scanned, its next END markers

    def find(self, text: str, start: int, chunk: str, low: str) -> Iterator[Hit]:
        for regex in self._headers:
            for m in regex.finditer(chunk):
                span = self._block(text, start + m.start(), start + m.end())
                if span is not None:
                    yield span[0], span[1], self.KIND

    def _block(self, text: str, head: int, head_end: int) -> tuple[int, int] | None:
        begin = head
        while begin > max(0, head - 6) and text[begin - 1] in "- ":
            begin -= 1
        body = skip(self.ARMOR, text, head_end)
        end = self._end(text, text[head:head_end], body)
        if len(self.NON_B64.sub("", text[body:end])) < self.MIN_BODY:
            return None
        return begin, end

    def _end(self, text: str, header: str, body: int) -> int:
        limit = body + self.MAX_BLOCK
        if header.startswith("PuTTY"):
            start, end = self._next(text, "MAC", body)
            return end if 0 <= start < limit else body
        marker = "END " + header.removeprefix("BEGIN ")
        found, end = self._next(text, marker, body)
        if 0 <= found < limit:
            return skip(self.ARMOR, text, end)
        return skip(self.BODY, text, body)

    def forget(self) -> None:
        """Drop this thread's reference to the last text scanned."""
        self._local.text, self._local.found = None, {}

    def _next(self, text: str, marker: str, body: int) -> tuple[int, int]:
        """The next END marker (or PuTTY MAC) at or after ``body``: searched once per text and
        reused while headers come before it, so a thousand headers without an END cost one
        pass, not a thousand."""
        local = self._local
        if getattr(local, "text", None) is not text:
            local.text, local.found = text, {}
        cached = local.found.get(marker)
        if cached is not None and cached[0] <= body and (cached[1] < 0 or cached[1] >= body):
            return cached[1], cached[2]
        if marker == "MAC":
            mac = self.PUTTY_MAC.search(text, body)
            at, end = (mac.start(), mac.end()) if mac else (-1, -1)
        else:
            at = text.find(marker, body)
            end = at + len(marker) if at >= 0 else -1
        local.found[marker] = (body, at, end)
        return at, end

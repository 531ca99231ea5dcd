"""The code the proxy benchmarks index and send: installed packages, read once per package.

Shared by ``bench_proxy.py`` and ``bench_query_path.py``. It imports nothing of egress-watch,
so ``bench_query_path.py`` can still measure another checkout put first on ``sys.path``.
"""

from __future__ import annotations

import sys
from pathlib import Path

SITE = Path(sys.prefix) / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}"
SITE = SITE / "site-packages"
INDEXED = (
    "httpx", "textual", "werkzeug", "click", "jinja2", "mitmproxy", "ldap3", "flask", "anyio",
    "attr", "h2", "h11", "pyparsing", "markdown_it",
)  # fmt: skip
"""About 10 MB of Python source (the issue's target size for the proxy's code index); none
vendored by an UNRELATED package (pip vendors rich, requests, urllib3, ...: their code would be
a true match, not unrelated text)."""
UNRELATED = ("tornado", "_pytest", "hypothesis")
"""New code for the index: packages that share no code with ``INDEXED``. The earlier set
(tornado, urwid, pip) did: pip vendors rich (textual's ``content.py`` is rich's ``text.py``) and
requests (httpx's ``_models.py``), mitmproxy's console and textual's win32 driver come from
urwid. Its requests held real matches (108 detections in 300), which is the cost of
finding code, not of reading new code; ``--unrelated tornado,urwid,pip`` measures it."""

_sources: dict[str, str] = {}


def package_code(kb: int, nonce: int, packages: tuple[str, ...] = UNRELATED) -> str:
    """``kb`` KiB of one package's code, a new slice per ``nonce``."""
    package = packages[nonce % len(packages)]
    if package not in _sources:
        files = sorted((SITE / package).rglob("*.py"))
        _sources[package] = "\n".join(p.read_text(errors="replace") for p in files)
    source = _sources[package]
    size = kb * 1024
    start = (nonce * 7919 * 1024) % max(1, len(source) - size)
    return f"# request {nonce}\n" + source[start : start + size]

"""Vendor token formats from kingfisher's maintained rule catalog (the only kingfisher_sdk user).

kingfisher (``kingfisher-secret-scanner``, Rust + Vectorscan) knows ~490 provider formats and
scans a megabyte in milliseconds with the GIL released. Compiling its rules takes seconds, so one
``Scanner`` is compiled per process, on first use, and shared by every thread; the compiled
rules are cached in ``<data home>/rule-cache`` (mode 0700), which makes later start-ups take a
fraction of a second. ``EGRESS_WATCH_RULE_CACHE`` names another private directory (tests share
one across processes).

Its findings become our hits: rule ids ``kingfisher:<rule>`` (the catalog id without its
``betterleaks.``/``veles.secrets/`` namespace), its confidence mapped to our severity and
confidence. Identifiers (client ids, account ids, hosts, URLs) are not secrets and are dropped;
helper findings kingfisher hides because they only complete a pair (an AWS secret key next to
its key id) are kept when they are themselves the secret half.
"""

from __future__ import annotations

import os
import re
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Final

from egress_watch.classify.kinds import Hit, Kind
from egress_watch.classify.spans import char_offsets
from egress_watch.errors import ConfigError
from egress_watch.model import Severity
from egress_watch.paths import resolve_home

if TYPE_CHECKING:
    from kingfisher_sdk import Finding as _NativeFinding
    from kingfisher_sdk import Scanner as _NativeScanner

CACHE_ENV: Final = "EGRESS_WATCH_RULE_CACHE"
CACHE_DIR_NAME: Final = "rule-cache"
PREFIX: Final = "kingfisher:"
_NAMESPACES: Final = ("betterleaks.", "veles.secrets/", "kingfisher.", "custom.")

# Catalog confidence -> (our severity, our confidence).
_LEVELS: Final = {
    "high": (Severity.CRITICAL, "high"),
    "medium": (Severity.HIGH, "medium"),
    "low": (Severity.MEDIUM, "low"),
}
# Rules that name something rather than unlock it: an id, a user name, a host, an address.
_IDENTIFIER: Final = re.compile(
    r"(?:client|app|application|account|key|auth|service-account|token|project|tenant|"
    r"access-key|access-token|org)-id(?:\.\d+)?$|-(?:id|username|domain|host|url|address|"
    r"name|repository|instance-url|account-host|server-host|project-url|cloud-name)(?:\.\d+)?$"
    r"|publishable|public-key|-jfrog-url|sensitive-url"
)
# Rules our own detectors do better on prompt text: a PEM block is only a key with its body
# (kingfisher flags bare BEGIN headers, common in code and docs).
LEFT_TO_OURS: Final = frozenset({"private-key"})
# Hidden helpers that are a credential's secret half, kept although kingfisher hides them.
_SECRET_HELPER: Final = re.compile(r"secret|token|passphrase|password|private")


_lock = threading.Lock()
_scanner: _NativeScanner | None = None
_kinds: dict[tuple[str, str], Kind] = {}


def rule_cache_dir() -> Path:
    """Where the compiled rules are cached: inside the data home unless the env names a place."""
    explicit = os.environ.get(CACHE_ENV)
    return Path(explicit) if explicit else resolve_home() / CACHE_DIR_NAME


def _private_dir(path: Path) -> Path:
    """Create ``path`` (and a missing data home) private to the user; kingfisher refuses others."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if path.stat().st_mode & 0o077:
        os.chmod(path, 0o700)
    return path


def shared_scanner() -> _NativeScanner:
    """The process's one compiled kingfisher scanner (compiled on the first call).

    Raises:
        ConfigError: kingfisher cannot be imported or its rules cannot be compiled; the
            message names the fix.
    """
    global _scanner
    if _scanner is not None:
        return _scanner
    with _lock:
        if _scanner is None:
            _scanner = _compile(rule_cache_dir())
    return _scanner


def _compile(cache: Path) -> _NativeScanner:
    try:
        from kingfisher_sdk import Rules, Scanner
    except ImportError as error:
        raise ConfigError(
            f"secret rules: kingfisher-secret-scanner is not importable ({error}); reinstall "
            "egress-watch, or run `pip install kingfisher-secret-scanner==1.5.0` in its "
            "environment"
        ) from None
    try:
        rules = Rules(confidence="medium", cache_dir=_private_dir(cache))
        scanner = Scanner(rules, base64=False)
    except (OSError, RuntimeError, ValueError) as error:
        raise ConfigError(
            f"secret rules: kingfisher could not load its rules ({error}); delete {cache} "
            f"(a cache of compiled rules, rebuilt on the next start) and try again"
        ) from None
    return scanner


def short_rule(rule_id: str) -> str:
    """``betterleaks.github-pat`` -> ``github-pat``."""
    for namespace in _NAMESPACES:
        if rule_id.startswith(namespace):
            return rule_id[len(namespace) :]
    return rule_id


def is_identifier(rule_id: str) -> bool:
    """A rule that finds an id, a host or a public key: it names a credential, it is not one."""
    return bool(_IDENTIFIER.search(short_rule(rule_id)))


def _kind(rule_id: str, confidence: str, reason: str) -> Kind:
    key = (rule_id, confidence)
    kind = _kinds.get(key)
    if kind is None:
        severity, level = _LEVELS.get(confidence, _LEVELS["medium"])
        short = short_rule(rule_id)
        generic = short.startswith("generic")  # a shape, not a vendor format: ours decide ties
        kind = Kind(PREFIX + short, severity, reason, generic, level)
        _kinds[key] = kind
    return kind


def _reason(rule_name: str) -> str:
    """kingfisher's sentence-long rule names, trimmed to a reason."""
    return rule_name.removeprefix("Uncovered a possible ").removeprefix("Identified ").rstrip(".")


def _vendor(rule_id: str) -> str:
    """``aws`` of ``betterleaks.aws-secret-access-key``."""
    return short_rule(rule_id).split("-", 1)[0]


def _wanted(findings: list[_NativeFinding]) -> list[_NativeFinding]:
    """Secrets, not identifiers; a hidden helper only when it completes a visible pair (the AWS
    secret key of a key id found beside it), else it is a shape that needs its partner."""
    paired = {_vendor(f.rule_id) for f in findings if f.visible}
    return [
        f
        for f in findings
        if not is_identifier(f.rule_id)
        and short_rule(f.rule_id) not in LEFT_TO_OURS
        and (
            f.visible
            or (_vendor(f.rule_id) in paired and bool(_SECRET_HELPER.search(short_rule(f.rule_id))))
        )
    ]


def scan(text: str) -> list[Hit]:
    """Vendor-format secrets in ``text`` as hits with character offsets."""
    data = text.encode("utf-8", "surrogatepass")
    found = _wanted(shared_scanner().scan(data))
    if not found:
        return []
    spans = [(f.location["start_offset"], f.location["end_offset"]) for f in found]
    chars = char_offsets(data, [b for span in spans for b in span], ascii_only=text.isascii())
    return [
        (chars[s], chars[e], _kind(f.rule_id, f.confidence, _reason(f.rule_name)))
        for f, (s, e) in zip(found, spans, strict=True)
    ]


# kingfisher releases the GIL: on a large text it runs beside our Python detectors.
PARALLEL_FROM: Final = 256 * 1024  # below, a thread hand-off costs more than it saves
_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="kingfisher")


def scan_async(text: str) -> Future[list[Hit]]:
    """``scan(text)`` on a worker thread for large texts, else done now; ``.result()`` it."""
    if len(text) >= PARALLEL_FROM:
        return _pool.submit(scan, text)
    done: Future[list[Hit]] = Future()
    try:
        done.set_result(scan(text))
    except Exception as error:  # delivered by .result(), as from the pool
        done.set_exception(error)
    return done

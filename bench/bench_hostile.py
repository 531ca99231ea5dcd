"""Hostile bodies through the real pipeline: what each mode does with a planted key.

    uv run python bench/bench_hostile.py

For each body of issue 15's table (a bad UTF-8 byte, a latin-1 body, a 10,000-deep array, lone
surrogate escapes, an unreadable binary body) and each mode, prints the action, whether the
key was found, whether it would leave (forwarded or in the rewritten body), and the time.
Only the public pipeline API is used, so the same script measures older code too
(``PYTHONPATH=<old checkout> python bench/bench_hostile.py``). "error" means inspection raised:
the proxy then applies the fail mode (open in monitor; closed in block, and now in redact).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from egress_watch.catalog.services import builtin_catalog
from egress_watch.classify.engine import Engine
from egress_watch.config.settings import Settings
from egress_watch.model import Action, Capture, Mode
from egress_watch.pipeline import Inspector, Policy

KEY = "AKIA" + "Q3EX" + "T7PL" + "N2ZR" + "W5YB"  # built from parts: no literal key in the repo
PATH = "/v1/chat/completions"


def chat(content: str, tail: str = "", charset: str = "utf-8") -> bytes:
    text = json.dumps({"model": "m", "messages": [{"role": "user", "content": content}]},
                      ensure_ascii=False)  # fmt: skip
    return (text[:-1] + tail + "}").encode(charset)


BODIES: dict[str, tuple[bytes, str]] = {
    "bad utf-8 byte": (
        chat(f"key {KEY} caf\u00e9").replace(b"caf\xc3\xa9", b"caf\xff"),
        "application/json",
    ),
    "latin-1 declared": (
        chat(f"Schl\u00fcssel {KEY}", charset="latin-1"),
        "application/json; charset=ISO-8859-1",
    ),
    "10,000-deep array": (
        chat(f"key {KEY}", ',"x":' + "[" * 10_000 + "]" * 10_000),
        "application/json",
    ),
    "lone surrogates": (
        chat("x").replace(b'"x"', f'"\\ud800 {KEY}"'.encode()),
        "application/json",
    ),
    "binary body": (b"\x00\x01\x02\xff\xfe" * 40 + KEY.encode(), "application/octet-stream"),
}


def main() -> None:
    catalog = builtin_catalog()
    route = catalog.route("api.openai.com", PATH)
    assert route is not None
    with tempfile.TemporaryDirectory() as home:
        engine = Engine.configured(b"k" * 32, Settings(), Path(home))
        print(f"{'body':20} {'mode':8} {'action':8} {'found':6} {'leaves':7} {'ms':>7}  reason")
        for name, (body, content_type) in BODIES.items():
            for mode in Mode:
                inspector = Inspector(catalog, engine, Policy(mode=mode))
                capture = Capture("POST", "https", "api.openai.com", 443, PATH,
                                  (("content-type", content_type),), body)  # fmt: skip
                start = time.perf_counter()
                try:
                    inspection = inspector.inspect(capture, route)
                except Exception as error:
                    ms = (time.perf_counter() - start) * 1000
                    print(f"{name:20} {mode:8} {'error':8} {'-':6} {'-':7} {ms:7.1f}  "
                          f"{type(error).__name__}")  # fmt: skip
                    continue
                ms = (time.perf_counter() - start) * 1000
                action = inspection.decision.action
                found = any(f.category == "secret" for f in inspection.event.findings)
                sent = inspection.rewritten_body if action is Action.REDACT else body
                leaves = action is not Action.BLOCK and KEY.encode() in (sent or b"")
                reason = inspection.event.uninspected_reason or ""
                print(f"{name:20} {mode:8} {action:8} {found!s:6} {leaves!s:7} {ms:7.1f}  "
                      f"{reason}")  # fmt: skip


if __name__ == "__main__":
    main()

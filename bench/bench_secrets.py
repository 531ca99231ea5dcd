"""Throughput and recall of SecretScanner against detect-secrets' own scan, same text, same run.

Generates a deterministic prompt-like document (code, config, logs, prose, diffs, with traps
such as hashes, UUIDs, documented example keys and password-handling code) holding 20 planted
fake secrets built from parts at run time. For each size (1 MB and 4 MB by default) it times
``SecretScanner().scan`` on the whole document (best of 5) and detect-secrets' ``scan_line`` over
each line of the first 256 KB (extrapolated linearly: it runs at about 10 s/MB; ``--ds-full``
scans the whole document instead), then prints MB/s for both, the ratio, and how many planted
secrets each finds.

    uv run python bench/bench_secrets.py [--mb 1 4] [--seed 7] [--ds-kb 256] [--ds-full]
    uv run python bench/bench_secrets.py --scaling --hostile --cli   # issue 16's speed table
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import string
import time
from collections import Counter
from collections.abc import Callable

from detect_secrets.core.scan import scan_line
from detect_secrets.settings import default_settings

from egress_watch.classify.secrets import SecretMatch, SecretScanner

ALNUM = string.ascii_letters + string.digits
URLSAFE = ALNUM + "-_"
HEX = "0123456789abcdef"
WORDS = ("request", "response", "user", "session", "cache", "config", "handler", "payload")
WORDS += ("retry", "timeout", "buffer", "index", "record", "stream", "parser", "token_count")
WORDS += ("batch", "window", "metric", "client", "server", "queue", "worker", "result")


class Doc:
    """A document under construction that remembers where each planted secret value sits."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.parts: list[str] = []
        self.size = 0
        self.plants: list[tuple[str, int, int]] = []  # (label, start, end)

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.size += len(text)

    def plant(self, label: str, before: str, value: str, after: str) -> None:
        self.add(before)
        self.plants.append((label, self.size, self.size + len(value)))
        self.add(value + after)

    def rand(self, n: int, alphabet: str = ALNUM) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def word(self) -> str:
        return self.rng.choice(WORDS)

    def num(self, low: int, high: int) -> int:
        return self.rng.randint(low, high)


# --- blocks: trap blocks look like secrets to naive scanners but hold none ----------------------


def python_block(d: Doc) -> str:
    a, b = d.word(), d.word()
    return (
        f"def load_{a}(path: str, {b}: int = {d.num(1, 99)}) -> dict[str, object]:\n"
        f'    """Load the {a} from disk and validate the {b}."""\n'
        "    with open(path) as fh:\n        data = json.load(fh)\n"
        '    api_key = os.environ["API_KEY"]\n'
        "    if not check_password(user, password):\n"
        '        raise PermissionError("invalid password for %s" % user)\n'
        f'    digest = "{d.rand(64, HEX)}"\n'
        f"    return {{'{a}': data, '{b}': digest, 'key': {a}_key}}\n\n"
    )


def js_block(d: Doc) -> str:
    a = d.word()
    uuid = f"{d.rand(8, HEX)}-4f1a-9c2e-{d.rand(4, HEX)}-{d.rand(12, HEX)}"
    return (
        f"export async function fetch{a.title()}(id) {{\n"
        "  const token = req.headers.get('authorization');\n"
        f"  const res = await fetch(`https://api.example.com/v1/{a}/${{id}}`, {{ headers }});\n"
        f"  if (!res.ok) throw new Error('failed to load {a}');\n"
        f"  return {{ id: '{d.num(10**7, 10**8)}', uuid: '{uuid}' }};\n}}\n\n"
    )


def config_block(d: Doc) -> str:
    example_id, placeholder = "AKIA" + "IOSFODNN7EXAMPLE", "YOUR_" + "API_KEY"
    return (
        f"{d.word()}:\n  host: db-{d.num(1, 9)}.internal\n  port: 5432\n"
        f"  password: ${{DB_PASSWORD}}\n  secret_ref: vault/{d.word()}/{d.word()}\n"
        f'  integrity: "sha512-{d.rand(86, ALNUM + "+/")}=="\n'
        f"  example_key: {example_id}\n  api_key: {placeholder}\n\n"
    )


def log_block(d: Doc) -> str:
    lines = [
        f"2025-03-{d.num(10, 28)}T12:{d.num(10, 59)}:07.{d.num(100, 999)}Z INFO "
        f"{d.word()}.{d.word()} commit={d.rand(40, HEX)} ip=10.0.{d.num(0, 255)}.{d.num(1, 254)} "
        f"took={d.num(1, 900)}ms"
        for _ in range(8)
    ]
    return "\n".join(lines) + "\n\n"


def prose_block(d: Doc) -> str:
    return (
        f"The {d.word()} layer retries the {d.word()} when the upstream times out. Never paste a "
        "real secret or password into the issue tracker; rotate the token instead. See the docs "
        f"at https://docs.example.org/{d.word()} for the {d.word()} format, and keep the key "
        "material in the vault.\n\n"
    )


def class_block(d: Doc) -> str:
    a, b = d.word().title(), d.word()
    return (
        f'class {a}Service:\n    """Coordinates {b} handling for the {a.lower()} pipeline."""\n\n'
        f"    def __init__(self, {b}: {a}Store, limit: int = {d.num(2, 512)}) -> None:\n"
        f"        self._{b} = {b}\n        self._limit = limit\n\n"
        f"    def run(self, items: list[{a}]) -> int:\n"
        "        done = 0\n        for item in items[: self._limit]:\n"
        f"            done += self._{b}.apply(item, retries={d.num(1, 5)})\n"
        "        return done\n\n"
    )


def sql_block(d: Doc) -> str:
    a, b = d.word(), d.word()
    return (
        f"SELECT u.id, u.email, count(o.id) AS {a}_count\nFROM users u\n"
        f"JOIN {b}s o ON o.user_id = u.id\n"
        f"WHERE o.created_at > now() - interval '{d.num(1, 90)} days'\n"
        f"GROUP BY u.id, u.email\nORDER BY {a}_count DESC\nLIMIT {d.num(10, 500)};\n\n"
    )


def trace_block(d: Doc) -> str:
    a = d.word()
    return (
        "Traceback (most recent call last):\n"
        f'  File "/srv/app/{a}/handlers.py", line {d.num(10, 900)}, in handle\n'
        f"    result = self.{a}.process(payload)\n"
        f'  File "/srv/app/{a}/core.py", line {d.num(10, 900)}, in process\n'
        f'    raise ValueError(f"unexpected {a}: {{value!r}}")\n'
        f"ValueError: unexpected {a}: {d.num(0, 10**6)}\n\n"
    )


def diff_block(d: Doc) -> str:
    a, b = d.word(), d.word()
    return (
        f"diff --git a/src/{a}.ts b/src/{a}.ts\nindex {d.rand(7, HEX)}..{d.rand(7, HEX)} 100644\n"
        f"--- a/src/{a}.ts\n+++ b/src/{a}.ts\n@@ -{d.num(1, 300)},7 +{d.num(1, 300)},8 @@\n"
        f"   const {b} = new Map<string, number>();\n-  for (const x of xs) {b}.set(x.id, x.n);\n"
        f"+  for (const x of xs) {{\n+    {b}.set(x.id, ({b}.get(x.id) ?? 0) + x.n);\n+  }}\n\n"
    )


# Trap blocks (password-handling code, hashes, example keys, placeholders) are one in three.
BLOCKS: tuple[Callable[[Doc], str], ...] = (
    python_block, js_block, config_block, log_block, prose_block,
    class_block, sql_block, trace_block, diff_block, prose_block,
    class_block, sql_block, trace_block, diff_block, log_block,
)  # fmt: skip


# --- planted secrets -----------------------------------------------------------------------------


def jwt(d: Doc) -> str:
    def segment(obj: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    claims = segment({"sub": d.rand(10), "iat": 1700000000})
    return segment({"alg": "HS256", "typ": "JWT"}) + "." + claims + "." + d.rand(43, URLSAFE)


def pem(d: Doc, newline: str) -> str:
    label = "RSA " + "PRIVATE KEY"
    body = newline.join("MII" + d.rand(61, ALNUM + "+/") for _ in range(12))
    return f"-----BEGIN {label}-----{newline}{body}{newline}-----END {label}-----"


def planted(d: Doc, index: int) -> tuple[str, str, str, str]:
    """Fake secret number ``index`` (0..19) in its context: (label, before, value, after)."""
    r = d.rand
    aws_id = "AK" + "IA" + r(16, string.ascii_uppercase + "234567")
    slack = "xo" + "xb-" + r(12, string.digits) + "-" + r(24).lower()
    return [
        ("aws key id", 'aws_access_key_id = "', aws_id, '"\n'),
        ("aws secret", 'aws_secret_access_key = "', r(40, ALNUM + "/+"), '"\n'),
        ("github", "export GITHUB_TOKEN=", "ghp" + "_" + r(36), "\n"),
        ("github fine-grained", "  token: ", "github" + "_pat_" + r(22) + "_" + r(59), "\n"),
        ("openai", "OPENAI_API_KEY=", "sk-" + "proj-" + r(120, URLSAFE), "\n"),
        ("anthropic", '{"x-api-key": "', "sk-ant-" + "api03-" + r(93, URLSAFE) + "AA", '"}\n'),
        ("google", "const firebaseConfig = { apiKey: '", "AI" + "za" + r(35, URLSAFE), "' };\n"),
        ("slack", "DEBUG slack init token=", slack, " ok\n"),
        ("stripe", 'stripe.api_key = "', "sk" + "_live_" + r(24), '"\n'),
        ("jwt", "Authorization: Bearer ", jwt(d), "\n"),
        ("pem", "", pem(d, "\n"), "\n"),
        ("pem in json", '{"private_key": "', pem(d, "\\n"), '\\n"}\n'),
        ("basic auth", "  url: postgres://app:", r(14), "@db.internal:5432/orders\n"),
        ("password", 'db_password = "', r(12) + "!", '"\n'),
        ("dotenv secret", "SECRET_KEY=", r(50, URLSAFE), "\n"),
        ("sendgrid", 'SENDGRID = "', "SG" + "." + r(22) + "." + r(43), '"\n'),
        ("npm", "//registry.npmjs.org/:_authToken=", "npm" + "_" + r(36), "\n"),
        ("gitlab", "GL_TOKEN=", "gl" + "pat-" + r(20), "\n"),
        ("twilio", 'TWILIO_API_KEY = "', "S" + "K" + r(32, HEX), '"\n'),
        ("telegram", 'bot_token = "', str(d.num(10**8, 10**9)) + ":" + r(35), '"\n'),
    ][index]  # fmt: skip


def build_document(mb: float, seed: int) -> Doc:
    """About ``mb`` MB of blocks, with the 20 secrets planted at even intervals."""
    d = Doc(random.Random(seed))
    target = int(mb * 1_000_000)
    count = 0
    while d.size < target:
        d.add(d.rng.choice(BLOCKS)(d))
        if count < 20 and d.size >= (count + 1) * target // 21:
            d.plant(*planted(d, count))
            count += 1
    return d


# --- measuring -----------------------------------------------------------------------------------


def best_of[T](runs: int, fn: Callable[[], T]) -> tuple[float, T]:
    times, result = [], fn()
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), result


def ds_scan(lines: list[str]) -> list[tuple[int, str, str]]:
    """detect-secrets' ad-hoc per-line scan: (line index, secret type, value) per finding."""
    found: list[tuple[int, str, str]] = []
    with default_settings():
        for index, line in enumerate(lines):
            found += [(index, s.type, s.secret_value or "") for s in scan_line(line)]
    return found


def ds_found_planted(text: str, doc: Doc) -> int:
    """Planted secrets detect-secrets reports when scanning their own lines with scan_line."""
    count = 0
    for _, start, end in doc.plants:
        first, last = text.rfind("\n", 0, start) + 1, text.find("\n", end)
        values = [v for _, _, v in ds_scan(text[first:last].split("\n"))]
        planted_value = text[start:end]
        # detect-secrets returns partial values: "ghp" for GitHub, the PEM header for keys.
        count += any(len(v) >= 3 and (v in planted_value or planted_value in v) for v in values)
    return count


def overlaps(m: SecretMatch, start: int, end: int) -> bool:
    return m.start < end and start < m.end


def measure(mb: float, seed: int, ds_kb: int, ds_full: bool) -> None:
    """Time both scanners on one document of ``mb`` MB and print the comparison."""
    doc = build_document(mb, seed)
    text = "".join(doc.parts)
    size = len(text) / 1e6
    scanner = SecretScanner()
    ours, matches = best_of(5, lambda: scanner.scan(text))

    cut = len(text) if ds_full else text.rfind("\n", 0, ds_kb * 1024) + 1
    ds_slice, ds_found = best_of(1, lambda: ds_scan(text[:cut].split("\n")))
    ds = ds_slice * len(text) / cut

    missed = [label for label, s, e in doc.plants if not any(overlaps(m, s, e) for m in matches)]
    extra = Counter(m.rule for m in matches if not any(overlaps(m, s, e) for _, s, e in doc.plants))
    planted_lines = {
        line
        for _, s, e in doc.plants
        if s < cut
        for line in range(text.count("\n", 0, s), text.count("\n", 0, e) + 1)
    }
    ds_extra = Counter(kind for line, kind, _ in ds_found if line not in planted_lines)
    how = "whole document" if ds_full else f"first {cut / 1024:.0f} KB, extrapolated linearly"

    print(f"\n== {size:.2f} MB, {text.count(chr(10))} lines, {len(doc.plants)} planted secrets")
    print(f"egress-watch SecretScanner: {ours * 1e3:9.1f} ms {size / ours:8.2f} MB/s (best of 5)")
    print(f"detect-secrets scan_line:   {ds * 1e3:9.1f} ms {size / ds:8.2f} MB/s ({how})")
    print(f"ratio: egress-watch is {ds / ours:.0f}x faster")
    found = len(doc.plants) - len(missed)
    print(f"planted found by egress-watch:   {found}/{len(doc.plants)}", end="")
    print(f" (missed: {', '.join(missed)})" if missed else "")
    ds_planted = ds_found_planted(text, doc)
    print(f"planted found by detect-secrets: {ds_planted}/{len(doc.plants)} (each on its lines)")
    print(f"other findings, egress-watch, whole document: {sum(extra.values())} {dict(extra)}")
    print(
        f"other findings, detect-secrets, scanned part: {sum(ds_extra.values())} {dict(ds_extra)}"
    )


SCALING_MB = (0.5, 1.0, 2.0, 4.0, 8.0)


def scaling(seed: int, rounds: int = 3) -> None:
    """In-process secret scan at 0.5..8 MB of prompt text, with each size's ratio to 1 MB.

    Sizes are interleaved over ``rounds`` (the best of each kept) so a burst of load from other
    processes does not land on one size only; garbage collection is paused while timing (a full
    collection costs what the heap holds, not what the text does).
    """
    import gc

    scanner = SecretScanner()
    texts = {mb: "".join(build_document(mb, seed).parts) for mb in SCALING_MB}
    best = dict.fromkeys(SCALING_MB, float("inf"))
    for _ in range(rounds):
        for mb, text in texts.items():
            gc.collect()
            gc.disable()
            try:
                start = time.perf_counter()
                scanner.scan(text)
                best[mb] = min(best[mb], time.perf_counter() - start)
            finally:
                gc.enable()
    print(f"\n== scaling: SecretScanner.scan in process (best of {rounds}, sizes interleaved)")
    print(f"{'MB':>5} {'ms':>9} {'ms/MB':>8} {'x of 1 MB':>10}")
    for mb, seconds in best.items():
        ratio = seconds / best[1.0]
        print(f"{mb:5.1f} {seconds * 1e3:9.1f} {seconds * 1e3 / mb:8.1f} {ratio:10.2f}")


def _timed(scanner: SecretScanner, text: str) -> float:
    """One scan's seconds, garbage collection paused (it costs what the heap holds)."""
    import gc

    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        scanner.scan(text)
        return time.perf_counter() - start
    finally:
        gc.enable()


def hostile(mb: float = 1.0, rounds: int = 2) -> None:
    """The hostile shapes of tests/unit/test_secrets_scaling.py at 1 and 4 MB: time ratios
    (sizes interleaved over ``rounds``, best kept)."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.unit.test_secrets_scaling import SHAPES, _fill

    scanner = SecretScanner()
    print("\n== hostile shapes: 4 MB / 1 MB time ratio (linear is ~4)")
    for name, unit in sorted(SHAPES.items()):
        small, large = _fill(unit, int(mb * 1e6)), _fill(unit, int(4 * mb * 1e6))
        t1 = t4 = float("inf")
        for _ in range(rounds):
            t1 = min(t1, _timed(scanner, small))
            t4 = min(t4, _timed(scanner, large))
        print(f"{name:20} 1 MB {t1 * 1e3:8.1f} ms  4 MB {t4 * 1e3:8.1f} ms  ratio {t4 / t1:5.2f}")


def cli(seed: int) -> None:
    """``egress-watch scan`` vs ``detect-secrets scan`` on the same 1 MB file, same run."""
    import os
    import shutil
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    text = "".join(build_document(1.0, seed).parts)
    bindir = Path(sys.executable).parent
    ew, ds = shutil.which("egress-watch", path=bindir), shutil.which("detect-secrets", path=bindir)
    if ew is None or ds is None:
        print("\n(cli: egress-watch or detect-secrets not installed beside this python)")
        return
    with tempfile.TemporaryDirectory() as folder:
        doc, empty = Path(folder) / "doc.txt", Path(folder) / "empty.txt"
        doc.write_text(text)
        empty.write_text("")
        env = {**os.environ, "EGRESS_WATCH_HOME": str(Path(folder) / "home")}

        def run(*args: str) -> float:
            start = time.perf_counter()
            # cwd outside any git repository: inside one, detect-secrets scans tracked files only
            subprocess.run(args, env=env, cwd=folder, capture_output=True, check=False)
            return time.perf_counter() - start

        run(ew, "scan", str(empty))  # first start compiles kingfisher's rules into the home
        base = min(run(ew, "scan", str(empty)) for _ in range(3))
        ours = min(run(ew, "scan", str(doc)) for _ in range(3))
        theirs = run(ds, "scan", str(doc))
    net = max(ours - base, 1e-3)
    print("\n== CLI on the same 1 MB file")
    print(
        f"egress-watch scan:   {ours * 1e3:8.0f} ms "
        f"({net * 1e3:.0f} ms net of {base * 1e3:.0f} ms start-up)"
    )
    print(f"detect-secrets scan: {theirs * 1e3:8.0f} ms")
    print(f"ratio: {theirs / ours:.0f}x with start-up, {theirs / net:.0f}x net of start-up")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--mb", type=float, nargs="+", default=[1.0, 4.0], help="document sizes in MB (10^6 chars)"
    )
    parser.add_argument("--seed", type=int, default=7, help="seed of the document generator")
    parser.add_argument(
        "--ds-kb", type=int, default=256, help="KB of each document detect-secrets scans"
    )
    parser.add_argument(
        "--ds-full", action="store_true", help="let detect-secrets scan whole documents (slow)"
    )
    parser.add_argument("--scaling", action="store_true", help="0.5..8 MB in process, ratios")
    parser.add_argument("--hostile", action="store_true", help="hostile shapes, 4 MB / 1 MB")
    parser.add_argument("--cli", action="store_true", help="egress-watch scan vs detect-secrets")
    args = parser.parse_args()
    if args.scaling or args.hostile or args.cli:
        if args.scaling:
            scaling(args.seed)
        if args.hostile:
            hostile()
        if args.cli:
            cli(args.seed)
        return
    for mb in args.mb:
        measure(mb, args.seed, args.ds_kb, args.ds_full)


if __name__ == "__main__":
    main()

"""``index add`` as a user runs it: the real CLI, one fresh process per repository.

Part of ``bench_index_cost.py --cli`` (see there). Each add runs ``egress-watch index add ROOT``
in a new Python process against one data home whose background is already built in the cache
folder (the machine-wide file every index reuses). The process is started through a small
wrapper that times, inside it, the import of the CLI and of the index's modules, the
background's load (``public_array``; ``public_hashes`` before 17k), a one-time background setup
(``build_background``) and fingerprinting with storing (``fingerprint_files`` until its last
result is stored); process start is measured from just before the process is launched to the
wrapper's first line.
"""

from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

WRAPPER = r"""
import atexit, json, os, sys, time
up = time.time()
import egress_watch.cli.main as cli_main
from egress_watch.classify.proprietary import background, repos
imported = time.time()
spent = {"background load": 0.0, "background setup": 0.0, "fingerprint+store": 0.0}
inside = []

def timed(module, name, key, generator=False):
    real = getattr(module, name)
    def call(*args, **kwargs):
        started = time.perf_counter()
        inside.append(key)
        try:
            return real(*args, **kwargs)
        finally:
            inside.pop()
            if not inside:
                spent[key] += time.perf_counter() - started
    def iterate(*args, **kwargs):
        started = time.perf_counter()
        try:
            yield from real(*args, **kwargs)
        finally:
            spent[key] += time.perf_counter() - started
    setattr(module, name, iterate if generator else call)

timed(background, "public_hashes", "background load")
for name in ("public_hashes", "public_array"):  # the frozenset, or (since 17k) the array
    if hasattr(repos, name):
        timed(repos, name, "background load")
timed(background, "build_background", "background setup")
import egress_watch.cli.index as cli_index
if hasattr(cli_index, "build_background"):  # a checkout whose CLI imports it at its start
    timed(cli_index, "build_background", "background setup")
timed(repos, "fingerprint_files", "fingerprint+store", generator=True)
pid = os.getpid()

def report():
    if os.getpid() == pid:
        start = up - float(os.environ["BENCH_T0"])
        with open(os.environ["BENCH_SPLIT"], "w") as out:
            json.dump({"start": start, "imports": imported - up, **spent}, out)

atexit.register(report)
cli_main.cli(sys.argv[1:], prog_name="egress-watch")
"""
PRINTED = re.compile(r"\(([\d.]+) MB, ([\d.]+) MB/s")
PARTS = ("start", "imports", "background load", "fingerprint+store")


def user_environment(home: Path, cache: Path) -> dict[str, str]:
    """The environment of a user's shell: this data home and cache, the default background,
    and Python writing its bytecode caches (as an installed egress-watch does after its first
    run; this machine's sessions turn that off, which would add ~0.3 s of compiling to every
    process)."""
    env = dict(os.environ)
    for name in ("PYTHONDONTWRITEBYTECODE", "EGRESS_WATCH_BACKGROUND"):
        env.pop(name, None)
    env["EGRESS_WATCH_HOME"] = str(home)
    env["EGRESS_WATCH_CACHE"] = str(cache)
    return env


def children_cpu() -> float:
    """CPU seconds of this process's finished children and theirs (the CLI and its workers)."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def run_cli(env: dict[str, str], *args: str) -> tuple[float, dict[str, float], str]:
    """One fresh ``egress-watch`` process: wall seconds, its inside split (with ``cpu``, the
    CPU seconds of the process and its workers), its stderr."""
    with tempfile.NamedTemporaryFile(suffix=".json") as split_file:
        env = {**env, "BENCH_SPLIT": split_file.name}
        env["BENCH_T0"] = repr(time.time())
        started, cpu = time.perf_counter(), children_cpu()
        done = subprocess.run(
            [sys.executable, "-c", WRAPPER, *args],
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=1800,
        )
        wall, cpu = time.perf_counter() - started, children_cpu() - cpu
        if done.returncode != 0:
            raise SystemExit(f"egress-watch {' '.join(args)} failed:\n{done.stderr}")
        split = {**json.loads(Path(split_file.name).read_text()), "cpu": cpu}
    return wall, split, done.stderr


def build_cache(cache: Path, load: str) -> None:
    """Build the default background into ``cache`` with the real CLI, timed (once per
    machine: what a user's very first ``index add`` pays)."""
    with tempfile.TemporaryDirectory() as home:
        wall, _, _ = run_cli(user_environment(Path(home), cache), "index", "background")
    print(f"  default background built once for the machine: {wall:.1f} s wall  [{load}]")


def cli_cost(
    roots: dict[str, Path], cache: Path | None, rounds: int, load: Callable[[], str]
) -> None:
    """Print, per language, one real ``index add`` per fresh process: MB, wall, the MB/s the
    CLI printed, and where the wall went."""
    print("index add through the real CLI, a fresh process per repository:")
    with tempfile.TemporaryDirectory() as tmp:
        if cache is None:
            cache = Path(tmp, "cache")
            build_cache(cache, load())
        empty = Path(tmp, "empty")
        empty.mkdir()
        subprocess.run(  # the bytecode caches, written once as a first run does
            [sys.executable, "-m", "egress_watch", "--help"],
            env=user_environment(Path(tmp, "warm"), cache),
            capture_output=True,
            check=True,
        )
        for round_ in range(rounds):
            env = user_environment(Path(tmp, f"home{round_}"), cache)
            wall, split, _ = run_cli(env, "index", "add", str(empty), "--name", "empty")
            print(
                f"  round {round_ + 1}: a new index takes the machine's background: "
                f"{split['background setup']:.2f} s of a {wall:.2f} s process  [{load()}]"
            )
            for language, root in roots.items():
                if not root.is_dir():
                    print(f"    {language}: {root} not installed here, left out")
                    continue
                wall, split, stderr = run_cli(env, "index", "add", str(root))
                _print_add(language, root, wall, split, stderr, load())


def _print_add(
    language: str, root: Path, wall: float, split: dict[str, float], stderr: str, load: str
) -> None:
    """One add's line: MB, wall, the CLI's own figure, and the split of the wall."""
    printed = PRINTED.findall(stderr)
    megabytes, rate = (float(printed[-1][0]), float(printed[-1][1])) if printed else (0.0, 0.0)
    rest = wall - sum(split[part] for part in PARTS) - split["background setup"]
    parts = "  ".join(f"{part} {split[part]:.2f}" for part in PARTS)
    print(
        f"    {language:>10}: {root.name} {megabytes:.1f} MB, process {wall:.2f} s wall "
        f"({megabytes / wall:.2f} MB/s), {split['cpu']:.2f} CPU-s, CLI printed {rate:.1f} MB/s; "
        f"split s: {parts}  rest {rest:.2f}  [{load}]"
    )

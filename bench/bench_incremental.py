"""Cost of a growing conversation: every turn resends all earlier messages.

Builds a deterministic 50-turn conversation (user and assistant messages of prompt-like text with
planted secrets, from bench_secrets' generator) that grows to about 1 MB, classifies the request
of every turn with one Engine (its findings cache warm from earlier turns), and compares the
total with one cold scan of the final request. Also checks that every turn reports the same
fingerprints as a cold scan of the same request.

    uv run python bench/bench_incremental.py [--turns 50] [--mb 1]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench_secrets import BLOCKS, Doc, planted

from egress_watch.classify.engine import Engine
from egress_watch.classify.secrets import SecretScanner
from egress_watch.model import Segment

KEY = b"bench-incremental-key"


def conversation(turns: int, mb: float, seed: int) -> list[Segment]:
    """Twice ``turns`` messages totalling about ``mb`` MB, with a planted secret every 5 turns."""
    rng = random.Random(seed)
    per_message = int(mb * 1_000_000 / (2 * turns))
    segments: list[Segment] = []
    for turn in range(turns):
        for role in ("user", "assistant"):
            doc = Doc(rng)
            while doc.size < per_message:
                doc.add(rng.choice(BLOCKS)(doc))
            if role == "user" and turn % 5 == 0:
                doc.plant(*planted(doc, (turn // 5) % 20))
            segments.append(Segment(role, "".join(doc.parts), message_index=len(segments)))
    return segments


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--turns", type=int, default=50)
    parser.add_argument("--mb", type=float, default=1.0, help="size of the final request, MB")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()

    segments = conversation(args.turns, args.mb, args.seed)
    scanner = SecretScanner()
    final_mb = sum(len(s.text) for s in segments) / 1e6

    cold_times = []
    for _ in range(3):
        cold = Engine(KEY, scanner)
        t0 = time.perf_counter()
        cold_findings = cold.classify_segments(segments)
        cold_times.append(time.perf_counter() - t0)
    single = min(cold_times)

    warm = Engine(KEY, scanner)
    total = 0.0
    same = True
    for turn in range(1, args.turns + 1):
        # A new request decodes new strings: nothing is shared with the previous turn's objects.
        request = [
            Segment(s.role, (s.text + ".")[:-1], message_index=i)
            for i, s in enumerate(segments[: 2 * turn])
        ]
        t0 = time.perf_counter()
        found = warm.classify_segments(request)
        total += time.perf_counter() - t0
        if turn == args.turns:
            same = found == cold_findings
    print(
        f"conversation: {args.turns} turns, final request {final_mb:.2f} MB, "
        f"{len(segments)} messages, {len(cold_findings)} findings"
    )
    print(f"one cold scan of the final request: {single * 1e3:8.1f} ms (best of 3)")
    print(
        f"all {args.turns} requests, one engine:   {total * 1e3:8.1f} ms "
        f"= {total / single:.2f}x the single scan (target <= 2x)"
    )
    print(
        f"cache: {warm.cache.hits} hits, {warm.cache.misses} misses, "
        f"{len(warm.cache)} entries, {warm.cache.size_bytes / 1024:.0f} KiB"
    )
    print(f"final turn's findings identical to a cold scan (fingerprints too): {same}")


if __name__ == "__main__":
    main()

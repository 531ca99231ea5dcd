"""k-gram hashing and robust winnowing (Schleimer, Wilkerson, Aiken 2003), C-speed in CPython.

Token ids are CRC32s of token text; a k-gram's hash is CPython's hash of the tuple of ids,
which is deterministic for ints (so the index can be reopened by another process of the same
Python minor version; the index records that version). Hashes are folded to 32 bits.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from itertools import compress, repeat
from operator import le

from egress_watch.classify.proprietary.tokenize import Tokens, renamed_channel


@dataclass(frozen=True, slots=True)
class Channel:
    """One fingerprint channel: its salt, k-gram length and winnowing window."""

    name: str
    salt: int
    k: int
    w: int
    renamed: bool


RAW = Channel("raw", 0x5A17, k=8, w=6, renamed=False)
RENAMED = Channel("renamed", 0x7E11, k=12, w=5, renamed=True)
CHANNELS = (RAW, RENAMED)
FINGERPRINTS = 2
"""Version of what the channels hash (part of the index format): 2 masks name-like strings
in the renamed channel."""


def token_ids(values: list[str], cache: dict[str, int]) -> list[int]:
    """CRC32 of each token, memoised in ``cache`` (tokens repeat a lot)."""
    ids = list(map(cache.get, values))
    if None in ids:
        for value in set(values).difference(cache):
            cache[value] = zlib.crc32(value.encode("utf-8", "surrogatepass"))
        ids = list(map(cache.__getitem__, values))
    return ids  # type: ignore[return-value]  # every value is in the cache now


def kgram_hashes(ids: list[int], channel: Channel) -> list[int]:
    """The 32-bit hash of every k-gram; index i covers tokens i .. i+k-1."""
    k = channel.k
    if len(ids) < k:
        return []
    slices = [ids[j:] for j in range(k)]
    return [h >> 32 for h in map(hash, zip(repeat(channel.salt), *slices))]


def winnow(hashes: list[int], w: int) -> list[int]:
    """Positions kept by winnowing: every position holding the minimum of some window of w.

    Position i is the minimum of the window starting ``a`` before it when it is no larger
    than its ``a`` left and ``w - 1 - a`` right neighbours. Each comparison with the
    neighbour ``d`` away runs in C over the whole list (``map(le, ...)``) into one byte per
    position, read as a big integer, so the ANDs over neighbours and the OR over window
    starts are C-level integer operations too.
    """
    n = len(hashes)
    if n <= w:
        return [hashes.index(min(hashes))] if hashes else []
    left = right = int.from_bytes(b"\x01" * n, "little")
    lefts, rights = [left], [right]
    for d in range(1, w):  # no larger than each neighbour up to d away, on either side
        right &= int.from_bytes(bytes(map(le, hashes, hashes[d:])), "little")
        left &= int.from_bytes(bytes(map(le, hashes[d:], hashes)), "little") << (8 * d)
        lefts.append(left)
        rights.append(right)
    kept = 0
    for a in range(w):
        kept |= lefts[a] & rights[w - 1 - a]
    return list(compress(range(n), kept.to_bytes(n, "little")))


def channel_ids(tokens: Tokens, channel: Channel, cache: dict[str, int]) -> list[int]:
    """Token ids of one channel (identifiers masked in the renamed one)."""
    if not channel.renamed:
        return token_ids(tokens.values, cache)
    return token_ids(renamed_channel(tokens.values), cache)


def fingerprints(tokens: Tokens, cache: dict[str, int]) -> list[tuple[int, int, int]]:
    """(hash, token position, line) of the winnowed k-grams of every channel, for indexing."""
    out: list[tuple[int, int, int]] = []
    lines = tokens.lines
    for channel in CHANNELS:
        hashes = kgram_hashes(channel_ids(tokens, channel, cache), channel)
        out += [(hashes[i], i, lines[i]) for i in winnow(hashes, channel.w)]
    return out

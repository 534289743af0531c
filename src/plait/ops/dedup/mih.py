"""Near-duplicate search over 64-bit hashes without comparing all pairs.

Each item carries ``k`` hashes: column 0 is its whole-image hash (the *query*),
columns 0..k-1 are its *index* hashes (whole image and centre crops, see
:mod:`plait.ops.dedup.phash`). The distance between items a and b is the smallest
Hamming distance between one's query and any of the other's index hashes, either
way round, so a cropped copy meets its original whichever is seen first. With
``k == 1`` it is plain Hamming distance.

Multi-index hashing with per-band probing: split the 64 bits into ``bands``
contiguous bands. If two hashes differ in at most ``radius`` bits, the pigeonhole
principle says some band differs in at most ``t = radius // bands`` bits. Every
query band value is entered with all flips of up to ``tq`` of its bits and every
index band value with all flips of up to ``t - tq``, so any two within ``t`` share
an entry; pairs that share one are candidates, and only they are verified. Bands
stay long (32 bits for radius <= 5), so chance candidates are rare and the work
is one sort of the entries per band: O(n log n), not O(n^2). Everything is
vectorised.

:func:`pairs_bruteforce` is the all-pairs reference the fast path is tested against.
"""

from __future__ import annotations

from functools import lru_cache
from itertools import combinations
from math import comb

import numpy as np

from plait.ops.dedup.phash import HASH_BITS, band_edges


def as_hashes(values: object) -> np.ndarray:
    """Hashes as an (n, k) uint64 array (a flat array is k = 1)."""
    h = np.asarray(values, dtype=np.uint64)
    if h.ndim == 1:
        h = h[:, None]
    if h.ndim != 2 or (h.shape[0] and h.shape[1] < 1):
        raise ValueError(f"hashes must be shaped (n,) or (n, k), not {h.shape}")
    return h


def distance(h: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Item distance for pairs (a[i], b[i]) of an (n, k) hash array (see module doc)."""
    ab = np.bitwise_count(h[a, :1] ^ h[b]).min(axis=1)
    ba = np.bitwise_count(h[b, :1] ^ h[a]).min(axis=1)
    return np.minimum(ab, ba).astype(np.int64)


def default_bands(radius: int) -> int:
    """Fewest bands (at least 2, so a band fits 32 bits) that need at most 2 flips per band."""
    return max(2, -(-(radius + 1) // 3))


@lru_cache(maxsize=64)
def _flips(width: int, upto: int) -> np.ndarray:
    """Every mask of at most ``upto`` set bits among ``width`` (0 first)."""
    out = [0]
    for r in range(1, upto + 1):
        out += [sum(1 << i for i in c) for c in combinations(range(width), r)]
    return np.array(out, dtype=np.uint64)


def _split(width: int, t: int, k: int) -> int:
    """Query-side flips ``tq`` (index side gets ``t - tq``) with the fewest entries."""

    def volume(r: int) -> int:
        return sum(comb(width, i) for i in range(r + 1))

    return min(range(t + 1), key=lambda tq: volume(tq) + k * volume(t - tq))


def _band_candidates(h: np.ndarray, lo: int, hi: int, t: int) -> np.ndarray:
    """Encoded pairs ``a * n + b`` (a < b) whose query/index band values meet within ``t``."""
    n, k = h.shape
    width = hi - lo
    if width > 32 or n >= 2**30:  # the packed sort below needs key, owner and flags in 64 bits
        raise ValueError("bands must be at most 32 bits wide, and items fewer than 2**30")
    tq = _split(width, t, k)
    fq, fi = _flips(width, tq), _flips(width, t - tq)
    # packed entry: band key (32 bits) | owner (30 bits) | flags (1 query, 2 index)
    base = ((h >> np.uint64(lo)) & np.uint64((1 << width) - 1)) << np.uint64(32)
    base |= np.arange(n, dtype=np.uint64)[:, None] << np.uint64(2)
    if tq == t - tq:  # the whole-image hash is its own query and index entry: one entry
        cols = [(base[:, :1] | np.uint64(3), fq), (base[:, 1:] | np.uint64(2), fi)]
    else:
        cols = [(base[:, :1] | np.uint64(1), fq), (base | np.uint64(2), fi)]
    parts = [(b[:, :, None] ^ (f << np.uint64(32))[None, None, :]).ravel() for b, f in cols]
    del base
    packed = np.concatenate(parts)
    del parts
    packed.sort()
    keys = packed >> np.uint64(32)
    eq = keys[1:] == keys[:-1]
    in_run = np.r_[eq, False]
    in_run[1:] |= eq
    packed = packed[in_run]  # entries that share their key with another: the few that matter
    own = ((packed >> np.uint64(2)) & np.uint64(2**30 - 1)).astype(np.int64)
    flags = (packed & np.uint64(3)).astype(np.uint8)
    return _cross_run_pairs(packed >> np.uint64(32), own, flags, n)


def _cross_run_pairs(keys: np.ndarray, own: np.ndarray, flags: np.ndarray, n: int) -> np.ndarray:
    """Pairs of different items sharing a key where one side has a query entry and the
    other an index entry, encoded ``a * n + b`` with a < b."""
    parts = []
    d = 1
    same = keys[d:] == keys[:-d] if len(keys) > d else np.zeros(0, dtype=bool)
    while same.any():
        i = np.nonzero(same)[0]
        j = i + d
        ok = (((flags[i] & 1) & (flags[j] >> 1)) | ((flags[i] >> 1) & (flags[j] & 1))) > 0
        ok &= own[i] != own[j]
        a, b = own[i[ok]], own[j[ok]]
        parts.append(np.minimum(a, b) * n + np.maximum(a, b))
        d += 1
        if len(keys) <= d:
            break
        same = same[1:] & (keys[d:] == keys[:-d])
    return np.concatenate(parts) if parts else np.zeros(0, np.int64)


def near_pairs(
    hashes: object, radius: int = 4, bands: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every pair (a < b) of items within ``radius``: (a, b, distance).

    ``bands`` only trades speed (see :func:`default_bands`); the result is exact for any.
    """
    h = as_hashes(hashes)
    n = len(h)
    empty = np.zeros(0, np.int64)
    if n < 2:
        return empty, empty, empty
    if not 0 <= radius < HASH_BITS:
        raise ValueError(f"radius must be in 0..{HASH_BITS - 1}, not {radius}")
    m = default_bands(radius) if bands is None else bands
    if not 2 <= m <= HASH_BITS:  # any count is exact; at least 2 so a band fits 32 bits
        raise ValueError(f"bands must be in 2..{HASH_BITS}, not {m}")
    t = radius // m
    cand = [_band_candidates(h, lo, hi, t) for lo, hi in band_edges(m)]
    pairs = _sorted_unique(np.concatenate(cand))
    a, b = pairs // n, pairs % n
    dist = distance(h, a, b)
    ok = dist <= radius
    return a[ok], b[ok], dist[ok]


def _sorted_unique(x: np.ndarray) -> np.ndarray:
    """Sort-based unique: far faster than numpy's hash path on large int arrays."""
    if len(x) == 0:
        return x
    x = np.sort(x)
    return x[np.r_[True, x[1:] != x[:-1]]]


def pairs_bruteforce(hashes: object, radius: int = 4) -> set[tuple[int, int]]:
    """All-pairs reference for tests: O(n^2)."""
    h = as_hashes(hashes)
    out: set[tuple[int, int]] = set()
    for i in range(len(h)):
        rest = np.arange(i + 1, len(h))
        d = distance(h, np.full(len(rest), i), rest)
        out.update((i, int(j)) for j in rest[d <= radius])
    return out


def first_kept(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Greedy resolve in index order: ``parent[i] = -1`` keeps item i, else the index of
    the first earlier kept item it is near. Every drop is within radius of a kept item."""
    parent = np.full(n, -1, dtype=np.int64)
    if len(a) == 0:
        return parent
    order = np.lexsort((a, b))
    a, b = a[order], b[order]
    starts = np.flatnonzero(np.r_[True, b[1:] != b[:-1]])
    ends = np.r_[starts[1:], len(b)]
    for s, e in zip(starts.tolist(), ends.tolist()):
        for j in a[s:e].tolist():  # ascending: the first kept neighbour wins
            if parent[j] == -1:
                parent[b[s]] = j
                break
    return parent

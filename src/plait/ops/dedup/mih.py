"""Near-duplicate search over 64-bit hashes without comparing all pairs.

Multi-index hashing: split the 64 bits into ``radius + 1`` bands. If two hashes
differ in at most ``radius`` (reliable) bits, the pigeonhole principle says at
least one band holds no difference, so candidates are pairs that agree exactly on
some band; only they are verified. With erasure masks (see
:mod:`plait.ops.dedup.phash`), "agree" means agree on the bits that are reliable in
both: each item is entered in a band's table once per assignment of its erased bits
there (``2**erase`` entries), and two items collide exactly when they agree on every
bit neither of them erased. Everything is vectorised: per band, one sort of the
entries and a sweep over equal runs.

:func:`pairs_bruteforce` is the all-pairs reference the fast path is tested against.
"""

from __future__ import annotations

import numpy as np

from plait.ops.dedup.phash import HASH_BITS, band_edges


def _as_u64(values: object) -> np.ndarray:
    return np.asarray(values, dtype=np.uint64)


def distance(h1: np.ndarray, h2: np.ndarray, m1: np.ndarray, m2: np.ndarray) -> np.ndarray:
    """Hamming distance over the bits reliable in both hashes."""
    return np.bitwise_count((h1 ^ h2) & ~(m1 | m2)).astype(np.int64)


def _band_entries(v: np.ndarray, m: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Every assignment of each item's erased bits: (entry values, item index)."""
    n = len(v)
    counts = np.bitwise_count(m).astype(np.int64)
    base = v & ~m
    if not counts.any():
        return base, np.arange(n)
    out_v, out_i = [], []
    for e in np.unique(counts):
        idx = np.nonzero(counts == e)[0]
        if e == 0:
            out_v.append(base[idx])
            out_i.append(idx)
            continue
        bits = (m[idx, None] >> np.arange(width, dtype=np.uint64)[None, :]) & np.uint64(1)
        # positions of the e erased bits of each item, in ascending order
        pos = np.argsort(-bits.astype(np.int8), axis=1, kind="stable")[:, :e].astype(np.uint64)
        subsets = np.arange(1 << int(e), dtype=np.uint64)
        choose = (subsets[:, None] >> np.arange(e, dtype=np.uint64)[None, :]) & np.uint64(1)
        # (items, subsets): base | sum_j choose[s, j] << pos[item, j]
        add = (choose[None, :, :] << pos[:, None, :]).sum(axis=2, dtype=np.uint64)
        out_v.append((base[idx, None] | add).ravel())
        out_i.append(np.repeat(idx, len(subsets)))
    return np.concatenate(out_v), np.concatenate(out_i)


def _equal_run_pairs(keys: np.ndarray, items: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All (a, b), a < b, of items that share a key."""
    order = np.argsort(keys, kind="stable")
    k, it = keys[order], items[order]
    a_parts, b_parts = [], []
    d = 1
    same = k[d:] == k[:-d] if len(k) > d else np.zeros(0, dtype=bool)
    while same.any():
        i = np.nonzero(same)[0]
        a_parts.append(it[i])
        b_parts.append(it[i + d])
        d += 1
        if len(k) <= d:
            break
        same = same[1:] & (k[d:] == k[:-d])
    if not a_parts:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    a, b = np.concatenate(a_parts), np.concatenate(b_parts)
    keep = a != b  # an item's own variants never collide, but be safe
    a, b = a[keep], b[keep]
    return np.minimum(a, b), np.maximum(a, b)


def near_pairs(
    hashes: object, masks: object | None = None, radius: int = 2
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every pair (a < b) within ``radius`` reliable bits: (a, b, distance)."""
    h = _as_u64(hashes)
    m = np.zeros_like(h) if masks is None else _as_u64(masks)
    n = len(h)
    if n < 2:
        empty = np.zeros(0, np.int64)
        return empty, empty, empty
    if not 0 <= radius < HASH_BITS:
        raise ValueError(f"radius must be in 0..{HASH_BITS - 1}, not {radius}")
    cand = []
    for lo, hi in band_edges(radius + 1):
        width = hi - lo
        sel = np.uint64((1 << width) - 1)
        v = (h >> np.uint64(lo)) & sel
        mm = (m >> np.uint64(lo)) & sel
        keys, items = _band_entries(v, mm, width)
        a, b = _equal_run_pairs(keys, items)
        cand.append(a * n + b)
    pairs = _sorted_unique(np.concatenate(cand))
    a, b = pairs // n, pairs % n
    dist = distance(h[a], h[b], m[a], m[b])
    ok = dist <= radius
    return a[ok], b[ok], dist[ok]


def _sorted_unique(x: np.ndarray) -> np.ndarray:
    """Sort-based unique: far faster than numpy's hash path on large int arrays."""
    if len(x) == 0:
        return x
    x = np.sort(x)
    return x[np.r_[True, x[1:] != x[:-1]]]


def pairs_bruteforce(
    hashes: object, masks: object | None = None, radius: int = 2
) -> set[tuple[int, int]]:
    """All-pairs reference for tests: O(n^2)."""
    h = _as_u64(hashes)
    m = np.zeros_like(h) if masks is None else _as_u64(masks)
    out = set()
    for i in range(len(h)):
        d = distance(h[i], h[i + 1 :], m[i], m[i + 1 :])
        out.update((i, i + 1 + int(j)) for j in np.nonzero(d <= radius)[0])
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

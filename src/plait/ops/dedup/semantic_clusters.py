"""Clusters of unit vectors for semantic dedup: spherical k-means that stays near-linear.

A flat k-means with clusters of a fixed size costs n x k = n^2 / size to assign, so
past a few hundred clusters it is two-level: ``sqrt(k)`` coarse clusters, then each
split into clusters of about ``size``; a point is compared with ``2 sqrt(k)``
centroids, not ``k``. Each k-means trains on a bounded sample of its points (``64``
per centroid) and assigns all of them once. A cluster still over ``4 x size`` (k-means
is not balanced) is split again, so the pairwise pass inside clusters costs about
``n x size``. Plain numpy: matrix products in row blocks, nothing else.
"""

from __future__ import annotations

import math

import numpy as np

from plait.vectors import l2_normalise

_BLOCK = 8192  # rows per assignment product: bounds memory at block x k floats
_PER_CENTROID = 64  # training points per centroid
_FLAT_MAX = 256  # above this many clusters, cluster in two levels


def _assign(x: np.ndarray, centroids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest centroid (by cosine) of every row, and that cosine."""
    labels = np.empty(len(x), np.int64)
    sims = np.empty(len(x), np.float32)
    for lo in range(0, len(x), _BLOCK):
        s = x[lo : lo + _BLOCK] @ centroids.T
        a = s.argmax(axis=1)
        labels[lo : lo + _BLOCK] = a
        sims[lo : lo + _BLOCK] = s[np.arange(len(a)), a]
    return labels, sims


def kmeans(
    x: np.ndarray, k: int, iterations: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Spherical k-means: (centroids (k', d), labels (n,)); k' <= k (empty clusters go)."""
    n = len(x)
    k = max(1, min(k, n))
    train = x if n <= k * _PER_CENTROID else x[rng.choice(n, k * _PER_CENTROID, replace=False)]
    c = train[rng.choice(len(train), k, replace=False)].copy()
    for _ in range(iterations):
        lab, _ = _assign(train, c)
        sums = np.zeros_like(c)
        np.add.at(sums, lab, train)
        counts = np.bincount(lab, minlength=k)
        empty = counts == 0
        if empty.any():  # re-seed empty clusters with random training points
            sums[empty] = train[rng.choice(len(train), int(empty.sum()), replace=True)]
        c = l2_normalise(sums)
    labels, _ = _assign(x, c)
    used = np.unique(labels)
    remap = np.full(k, -1, np.int64)
    remap[used] = np.arange(len(used))
    return c[used], remap[labels]


def clusters(
    x: np.ndarray, size: int, iterations: int = 10, seed: int = 0
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Clusters of about ``size`` rows of ``x`` (unit rows): a list of
    (row indices, centroid)."""
    rng = np.random.default_rng(seed)
    out: list[tuple[np.ndarray, np.ndarray]] = []
    _split(x, np.arange(len(x)), size, iterations, rng, out, depth=0)
    return out


def _split(
    x: np.ndarray,
    idx: np.ndarray,
    size: int,
    iterations: int,
    rng: np.random.Generator,
    out: list[tuple[np.ndarray, np.ndarray]],
    depth: int,
) -> None:
    pts = x[idx]
    k = math.ceil(len(idx) / size)
    if k <= 1 or depth >= 6:
        out.append((idx, l2_normalise(pts.mean(axis=0, keepdims=True))[0]))
        return
    if k > _FLAT_MAX:  # two levels: coarse clusters first, each split below
        coarse = math.ceil(math.sqrt(k))
        _, lab = kmeans(pts, coarse, iterations, rng)
        for j in range(lab.max() + 1):
            _split(x, idx[lab == j], size, iterations, rng, out, depth + 1)
        return
    cents, lab = kmeans(pts, k, iterations, rng)
    if len(cents) == 1:  # identical or nearly so: cannot be split, judge as one
        out.append((idx, cents[0]))
        return
    for j in range(len(cents)):
        members = idx[lab == j]
        if len(members) > 4 * size:
            _split(x, members, size, iterations, rng, out, depth + 1)
        else:
            out.append((members, cents[j]))


def greedy_duplicates(x: np.ndarray, threshold: float, block: int = 1024) -> np.ndarray:
    """For rows in preference order: -1 for a kept row, else the index of the earlier
    kept row it duplicates (cosine >= ``threshold``; the most similar one)."""
    m = len(x)
    keep = np.zeros(m, bool)
    dup = np.full(m, -1, np.int64)
    for lo in range(0, m, block):
        hi = min(m, lo + block)
        b = x[lo:hi]
        kept_before = np.flatnonzero(keep[:lo])
        if len(kept_before):
            p = b @ x[kept_before].T
            pa = p.argmax(axis=1)
            pv = p[np.arange(len(b)), pa]
        else:
            pa = np.zeros(len(b), np.int64)
            pv = np.full(len(b), -np.inf, np.float32)
        w = b @ b.T
        hit_inside = (np.triu(w, 1) >= threshold).any(axis=0)
        earlier = pv >= threshold
        dup[lo:hi][earlier] = kept_before[pa[earlier]] if len(kept_before) else -1
        clear = ~earlier & ~hit_inside
        keep[lo:hi][clear] = True
        for r in np.flatnonzero(~earlier & hit_inside):  # rare: depends on earlier choices
            ks = np.flatnonzero(keep[lo : lo + r])
            if len(ks):
                a = int(w[r, ks].argmax())
                if w[r, ks[a]] >= threshold:
                    dup[lo + r] = lo + ks[a]
                    continue
            keep[lo + r] = True
    return dup

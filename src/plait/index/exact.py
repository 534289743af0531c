"""Exact nearest neighbours in numpy: the reference every approximate path is checked against.

Vectors in plait are L2-normalised, so cosine similarity is a dot product. The
reference is a plain matrix product plus a partial sort; it is what tests and
``bench/index.py`` measure recall against, and it is small enough to trust.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from plait.index.scans import topk
from plait.vectors import l2_normalise


def exact_topk(vectors: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and cosine similarities of the ``k`` nearest rows of ``vectors`` per query.

    Both inputs are normalised here, so callers may pass raw vectors. Returns two
    ``(n_queries, min(k, n))`` arrays, best first.
    """
    vecs = l2_normalise(vectors)
    qs = l2_normalise(np.atleast_2d(queries))
    k = min(k, len(vecs))
    if k == 0:
        empty = np.zeros((len(qs), 0))
        return empty.astype(np.int64), empty.astype(np.float32)
    idx = np.empty((len(qs), k), dtype=np.int64)
    sims = np.empty((len(qs), k), dtype=np.float32)
    step = max(1, 2**26 // max(1, len(vecs)))  # bound the score matrix to ~256 MB
    for lo in range(0, len(qs), step):
        idx[lo : lo + step], sims[lo : lo + step] = topk(qs[lo : lo + step] @ vecs.T, k)
    return idx, sims


def recall_at_k(
    found: np.ndarray | list[list[Any]], truth: np.ndarray | list[list[Any]], k: int
) -> float:
    """Mean fraction of the true top-``k`` ids present in the found top-``k`` ids (the
    recall of an approximate search against :func:`exact_topk`; calibration uses it too)."""
    hits, sizes = [], []
    for f, t in zip(found, truth, strict=True):
        t_k = set(list(t)[:k])
        hits.append(len(t_k & set(list(f)[:k])))
        sizes.append(len(t_k))
    if not hits:
        return 0.0
    if len(set(sizes)) == 1:  # every query has k true ids: the mean hit count over k
        return float(np.mean(hits)) / max(1, sizes[0])
    return float(np.mean([h / max(1, n) for h, n in zip(hits, sizes, strict=True)]))

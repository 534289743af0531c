"""Adaptive top-k: cut a ranked list where relevance falls off.

Rule (largest-gap knee): with scores sorted best first and gaps
``g[i] = s[i] - s[i+1]``, cut after the position of the largest gap when that
gap is at least ``ratio`` times the mean of the other gaps; otherwise keep the
whole list. A clear drop means the items below it belong to a different
relevance level; a list that decays evenly has no such drop and is kept. The
rule is scale-free, so it works alike for cosine, BM25 and RRF scores.
"""

from __future__ import annotations

from collections.abc import Sequence

RATIO = 2.0


def adaptive_cut(scores: Sequence[float], *, ratio: float = RATIO, min_keep: int = 1) -> int:
    """How many of ``scores`` (sorted best first) to keep."""
    n = len(scores)
    if n <= min_keep + 1:
        return n
    gaps = [scores[i] - scores[i + 1] for i in range(n - 1)]
    candidates = range(min_keep - 1, n - 1)  # never cut above min_keep
    j = max(candidates, key=lambda i: gaps[i])
    if gaps[j] <= 0:
        return n
    others = [g for i, g in enumerate(gaps) if i != j]
    mean_other = sum(others) / len(others) if others else 0.0
    return j + 1 if gaps[j] >= ratio * mean_other else n

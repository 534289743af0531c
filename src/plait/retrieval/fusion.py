"""Reciprocal-rank fusion (Cormack, Clarke and Buettcher 2009).

RRF needs no score calibration between BM25 and cosine similarity, which live
on unrelated scales: each list contributes ``1 / (k + rank)`` (rank from 1) for
every item it holds. ``k = 60`` is the paper's constant.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

RRF_K = 60


def rrf(
    rankings: Mapping[str, Sequence[Hashable]], k: int = RRF_K
) -> dict[Hashable, dict[str, float]]:
    """Fuse named rankings (best first) into ``{item: {"rrf": s, "<name>_rank": r, ...}}``.

    The result is ordered by fused score, best first; ties keep first-seen order.
    """
    fused: dict[Hashable, dict[str, float]] = {}
    for name, items in rankings.items():
        for rank, item in enumerate(items, start=1):
            entry = fused.setdefault(item, {"rrf": 0.0})
            entry["rrf"] += 1.0 / (k + rank)
            entry[f"{name}_rank"] = float(rank)
    return dict(sorted(fused.items(), key=lambda kv: -kv[1]["rrf"]))

"""Reciprocal-rank fusion and the adaptive cut, on hand-made rankings."""

from __future__ import annotations

from plait.retrieval import adaptive_cut, rrf


def test_rrf_sums_reciprocal_ranks_and_orders_by_them() -> None:
    fused = rrf({"vector": ["a", "b", "c"], "bm25": ["c", "a"]})
    assert list(fused) == ["a", "c", "b"]
    assert fused["a"]["rrf"] == 1 / 61 + 1 / 62
    assert fused["c"] == {"rrf": 1 / 63 + 1 / 61, "vector_rank": 3.0, "bm25_rank": 1.0}
    assert fused["b"] == {"rrf": 1 / 62, "vector_rank": 2.0}
    assert rrf({"x": ["a"]}, k=0)["a"]["rrf"] == 1.0


def test_adaptive_cut_at_a_clear_drop_only() -> None:
    assert adaptive_cut([0.91, 0.9, 0.88, 0.41, 0.4, 0.38]) == 3
    assert adaptive_cut([1.0, 0.9, 0.8, 0.7, 0.6]) == 5  # even decay: keep all
    assert adaptive_cut([0.9, 0.1, 0.09, 0.08]) == 1
    assert (
        adaptive_cut([0.9, 0.1, 0.09, 0.08], min_keep=2) == 4
        or adaptive_cut([0.9, 0.1, 0.09], min_keep=2) == 3
    )
    assert adaptive_cut([0.5, 0.5, 0.5]) == 3
    assert adaptive_cut([]) == 0 and adaptive_cut([0.3]) == 1 and adaptive_cut([0.3, 0.1]) == 2

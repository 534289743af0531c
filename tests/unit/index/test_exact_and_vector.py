"""Vector index against the numpy reference: recall, the exact path, and the unindexed tail."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from plait.index.exact import exact_topk, recall_at_k
from plait.index.vector import VectorIndexConfig, ensure_vector_index, index_state, vector_search
from plait.schema import embeddings_schema
from plait.vectors import l2_normalise

lance = pytest.importorskip("lance")
DIM = 32
CFG = VectorIndexConfig(threshold=1000, rows_per_partition=1000, backend="lance")


def clustered(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((40, DIM))
    return l2_normalise(centres[rng.integers(0, 40, n)] + 0.5 * rng.standard_normal((n, DIM)))


def write(path: Path, vecs: np.ndarray, start: int = 0, mode: str = "create") -> None:
    ids = [f"s{i}" for i in range(start, start + len(vecs))]
    tbl = pa.table(
        {
            "sample_id": ids,
            "slot": pa.array([0] * len(vecs), pa.int32()),
            "modality": ["text"] * len(vecs),
            "content": ids,
            "vector": pa.FixedSizeListArray.from_arrays(
                pa.array(vecs.astype(np.float32).ravel()), DIM
            ),
        },
        schema=embeddings_schema(DIM),
    )
    lance.write_dataset(tbl, str(path), mode=mode)


def ids_of(rows: list[dict]) -> list[int]:
    return [int(r["sample_id"][1:]) for r in rows]


def test_exact_topk_matches_a_sort_of_all_similarities() -> None:
    vecs, queries = clustered(300, 0), clustered(7, 1)
    idx, sims = exact_topk(vecs, queries, 5)
    full = queries @ vecs.T
    for q in range(7):
        assert list(idx[q]) == list(np.argsort(-full[q], kind="stable")[:5])
        assert np.allclose(sims[q], np.sort(full[q])[::-1][:5], atol=1e-6)
    assert recall_at_k(idx, idx, 5) == 1.0
    assert recall_at_k([[1, 2]], [[2, 3]], 2) == 0.5


def test_below_threshold_search_is_exact(tmp_path: Path) -> None:
    vecs, queries = clustered(500, 2), clustered(20, 3)
    write(tmp_path / "e.lance", vecs)
    ds, action = ensure_vector_index(lance.dataset(str(tmp_path / "e.lance")), CFG)
    assert action == "exact" and index_state(ds) is None
    truth, sims = exact_topk(vecs, queries, 10)
    for q, t, s in zip(queries, truth, sims, strict=True):
        rows = vector_search(ds, q, 10, config=CFG)
        assert ids_of(rows) == list(t)
        assert np.allclose([r["similarity"] for r in rows], s, atol=1e-5)


def test_index_recall_and_tail_and_reindex(tmp_path: Path) -> None:
    path = tmp_path / "e.lance"
    vecs, queries = clustered(3000, 4), clustered(40, 5)
    write(path, vecs)
    ds, action = ensure_vector_index(lance.dataset(str(path)), CFG)
    assert action == "built"
    state = index_state(ds)
    assert (
        state["type"] == "IVF_HNSW_SQ" and state["partitions"] == 3 and state["unindexed_rows"] == 0
    )
    truth, _ = exact_topk(vecs, queries, 10)
    found = [ids_of(vector_search(ds, q, 10, config=CFG)) for q in queries]
    assert recall_at_k(found, truth, 10) >= 0.9

    # New rows are searchable before any re-index: the unindexed tail is scanned.
    new = clustered(5, 6)
    write(path, new, start=3000, mode="append")
    ds = lance.dataset(str(path))
    assert index_state(ds)["unindexed_rows"] == 5
    for i, v in enumerate(new):
        assert ids_of(vector_search(ds, v, 3, config=CFG))[0] == 3000 + i

    ds, action = ensure_vector_index(ds, CFG)
    assert action == "optimised" and index_state(ds)["unindexed_rows"] == 0
    assert ids_of(vector_search(ds, new[2], 1, config=CFG)) == [3002]
    assert ensure_vector_index(ds, CFG)[1] == "up-to-date"

    # A tail larger than half the indexed rows retrains the index.
    write(path, clustered(2000, 7), start=3005, mode="append")
    ds, action = ensure_vector_index(lance.dataset(str(path)), CFG)
    assert action == "rebuilt" and index_state(ds)["indexed_rows"] == 5005


def test_prefilter_keeps_k_rows_for_a_selective_filter(tmp_path: Path) -> None:
    path = tmp_path / "e.lance"
    vecs = clustered(3000, 8)
    write(path, vecs)
    ds, _ = ensure_vector_index(lance.dataset(str(path)), CFG)
    allowed = [7, 1234, 2999]
    flt = "sample_id IN ('s7', 's1234', 's2999')"
    rows = vector_search(ds, vecs[0], 10, filter=flt, config=CFG)
    truth, _ = exact_topk(vecs[allowed], vecs[0], 3)
    assert ids_of(rows) == [allowed[i] for i in truth[0]]

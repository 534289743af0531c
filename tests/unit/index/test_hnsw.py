"""The HNSW back end against the numpy reference: recall, the unindexed tail, filters, staleness."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from plait.errors import ConfigError
from plait.index import IndexCache, ann, hnsw
from plait.index.exact import exact_topk, recall_at_k
from plait.index.vector import VectorIndexConfig, describe, ensure_vector_index, nearest

from .test_exact_and_vector import clustered, ids_of, write

lance = pytest.importorskip("lance")
pytest.importorskip("faiss")
CFG = VectorIndexConfig(threshold=1000, ef=64)  # an explicit ef: always walk the graph
CALIBRATED = VectorIndexConfig(threshold=1000)


@pytest.fixture(autouse=True)
def one_thread() -> None:
    import faiss

    faiss.omp_set_num_threads(1)


def table(path: Path, n: int, seed: int) -> tuple[object, np.ndarray]:
    vecs = clustered(n, seed)
    write(path, vecs)
    return lance.dataset(str(path)), vecs


def held_out(n: int, seed: int) -> np.ndarray:
    """Queries from the same mixture as ``clustered(N, seed)`` but not stored."""
    return clustered(10_000 + n, seed)[-n:]


def search_ids(ds, q, k: int, cfg: VectorIndexConfig = CFG, **kw) -> list[int]:
    return ids_of(nearest(ds, q, k, config=cfg, **kw)[0])


def test_build_writes_files_next_to_the_table_and_finds_true_neighbours(tmp_path: Path) -> None:
    ds, vecs = table(tmp_path / "e.lance", 3000, 0)
    ds, action = ensure_vector_index(ds, CFG)
    assert action == "built"
    for p in hnsw.files(ds.uri).values():
        assert p.is_file() and p.parent == tmp_path
    info = describe(ds)
    assert info["index"] == "HNSW32_FLAT" and info["indexed_rows"] == 3000
    assert info["unindexed_rows"] == 0 and info["ef_search"] >= 16
    queries = held_out(50, 0)
    truth, sims = exact_topk(vecs, queries, 10)
    found = [nearest(ds, q, 10, config=CFG)[0] for q in queries]
    assert recall_at_k([ids_of(f) for f in found], truth, 10) >= 0.95
    # Scores are the cosine similarities of the returned rows.
    for f, q in zip(found, queries, strict=True):
        got = np.array([r["similarity"] for r in f])
        assert np.allclose(got, vecs[ids_of(f)] @ q, atol=1e-4)
        assert list(got) == sorted(got, reverse=True)
    assert ensure_vector_index(ds, CFG)[1] == "up-to-date"
    # Without an explicit ef, the calibrated ef (or a scan, when calibration found one
    # faster) serves queries, and meets the recall target on same-mixture queries.
    assert isinstance(info["exact_scan"], bool)
    found = [ids_of(nearest(ds, q, 10, config=CALIBRATED)[0]) for q in queries]
    assert recall_at_k(found, truth, 10) >= 0.95


@pytest.mark.parametrize("storage", ["sq8", "fp16"])
def test_coded_storage_with_float_reranking_and_ef_knob(tmp_path: Path, storage: str) -> None:
    ds, vecs = table(tmp_path / "e.lance", 2000, 2)
    cfg = VectorIndexConfig(threshold=1000, storage=storage, m=16)
    ensure_vector_index(ds, cfg)
    assert describe(ds)["index"] == f"HNSW16_{storage.upper()}"
    queries = clustered(30, 3)  # another mixture: off-distribution, so a wide ef
    truth, _ = exact_topk(vecs, queries, 5)
    found = nearest(ds, queries[0], 5, config=cfg)[0]
    got = np.array([r["similarity"] for r in found])
    assert np.allclose(got, vecs[ids_of(found)] @ queries[0], atol=1e-4)  # float re-ranked
    wide = VectorIndexConfig(threshold=1000, storage=storage, ef=512)
    assert recall_at_k([search_ids(ds, q, 5, wide) for q in queries], truth, 5) == 1.0


def test_asking_for_another_storage_rebuilds_and_none_keeps_the_built_one(
    tmp_path: Path,
) -> None:
    ds, vecs = table(tmp_path / "e.lance", 2000, 6)
    assert ensure_vector_index(ds, CFG)[1] == "built"
    assert describe(ds)["index"] == "HNSW32_FLAT"  # no storage asked: float
    fp16 = VectorIndexConfig(threshold=1000, storage="fp16", ef=64)
    assert ensure_vector_index(ds, fp16)[1] == "rebuilt"
    assert describe(ds)["index"] == "HNSW32_FP16"
    assert ensure_vector_index(ds, CFG)[1] == "up-to-date"  # None: the storage as built
    assert describe(ds)["index"] == "HNSW32_FP16"
    assert search_ids(ds, vecs[7], 1)[0] == 7
    with pytest.raises(ConfigError, match="storage 'int4'"):
        ensure_vector_index(ds, VectorIndexConfig(threshold=1000, storage="int4"))
    assert describe(ds)["index"] == "HNSW32_FP16"  # a bad setting leaves the index alone


def test_rows_appended_after_the_build_are_found_then_folded_in(tmp_path: Path) -> None:
    path = tmp_path / "e.lance"
    ds, vecs = table(path, 2000, 4)
    ensure_vector_index(ds, CFG)
    new = clustered(7, 5)
    write(path, new, start=2000, mode="append")
    ds = lance.dataset(str(path))
    assert describe(ds)["unindexed_rows"] == 7
    for i, v in enumerate(new):
        assert search_ids(ds, v, 3)[0] == 2000 + i  # the exact tail, merged
    # The merged list is the true top-k over old and new rows together.
    everything = np.concatenate([vecs, new])
    q = (vecs[0] + new[0]) / 2
    truth, _ = exact_topk(everything, q, 10)
    assert len(set(search_ids(ds, q, 10)) & set(truth[0])) >= 9

    ds, action = ensure_vector_index(ds, CFG)
    assert action == "extended" and describe(ds)["unindexed_rows"] == 0
    assert hnsw.load(ds.uri).ntotal == 2007
    assert search_ids(ds, new[3], 1) == [2003]
    assert ensure_vector_index(ds, CFG)[1] == "up-to-date"


def test_a_delete_makes_the_index_stale_and_search_falls_back_to_exact(tmp_path: Path) -> None:
    path = tmp_path / "e.lance"
    ds, vecs = table(path, 2000, 6)
    ensure_vector_index(ds, CFG)
    ds.delete("sample_id = 's5'")
    ds = lance.dataset(str(path))
    assert ann.ann_search(ds, vecs[5], 3, config=CFG) is None
    assert 5 not in search_ids(ds, vecs[5], 3)  # Lance's exact scan, without the deleted row
    assert ensure_vector_index(ds, CFG)[1] == "rebuilt"
    assert hnsw.load(ds.uri).ntotal == 1999
    assert 5 not in search_ids(ds, vecs[5], 3)


def test_filters_modality_allowed_and_exclude(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pyarrow as pa

    from plait.schema import embeddings_schema

    path = tmp_path / "e.lance"
    vecs = clustered(3000, 8)
    sids = [f"s{i // 2}" for i in range(3000)]  # two slots per sample
    mods = ["image" if i % 2 == 0 else "text" for i in range(3000)]
    tbl = pa.table(
        {
            "sample_id": sids,
            "slot": pa.array([i % 2 for i in range(3000)], pa.int32()),
            "modality": mods,
            "content": sids,
            "vector": pa.FixedSizeListArray.from_arrays(pa.array(vecs.ravel()), vecs.shape[1]),
        },
        schema=embeddings_schema(vecs.shape[1]),
    )
    lance.write_dataset(tbl, str(path))
    ds, _ = ensure_vector_index(lance.dataset(str(path)), CFG)
    q = vecs[10]

    rows = nearest(ds, q, 10, modality="text", config=CFG)[0]
    assert {r["modality"] for r in rows} == {"text"} and {r["slot"] for r in rows} == {1}
    text_rows = np.arange(1, 3000, 2)
    truth, _ = exact_topk(vecs[text_rows], q, 10)
    assert len({r["sample_id"] for r in rows} & {sids[text_rows[t]] for t in truth[0]}) >= 9

    # A small allowed set is answered exactly over its rows.
    allowed = {"s3", "s700", "s1499"}
    rows = nearest(ds, q, 10, allowed=allowed, config=CFG)[0]
    keep = [i for i in range(3000) if sids[i] in allowed]
    t, s = exact_topk(vecs[keep], q, 10)
    assert [(r["sample_id"], r["slot"]) for r in rows] == [
        (sids[keep[i]], keep[i] % 2) for i in t[0]
    ]
    assert np.allclose([r["similarity"] for r in rows], s[0], atol=1e-5)

    # A broad allowed set goes through the graph with an ID selector.
    broad = {f"s{i}" for i in range(0, 1500, 3) if i != 5} | {f"s{i}" for i in range(1, 1500, 3)}
    cfg = VectorIndexConfig(threshold=1000, scan_work=0, ef=16)
    walks: list[int] = []
    search_raw = hnsw.search_raw

    def spy(faiss, index, qs, k, ef, k_exp, sel=None, cache=None):
        if sel is not None:
            walks.append(ef)
        return search_raw(faiss, index, qs, k, ef, k_exp, sel, cache)

    monkeypatch.setattr(hnsw, "search_raw", spy)
    queries = held_out(20, 8)
    keep = [i for i in range(3000) if sids[i] in broad]
    truth, _ = exact_topk(vecs[keep], queries, 10)
    found = [
        [
            keep.index(2 * int(r["sample_id"][1:]) + r["slot"])
            for r in nearest(ds, qq, 10, allowed=broad, config=cfg)[0]
        ]
        for qq in queries
    ]
    assert recall_at_k(found, truth, 10) >= 0.9
    for f in found:
        assert all(sids[keep[i]] in broad for i in f)
    assert len(walks) == len(queries) and min(walks) >= 16  # walked
    # the build measured how much wider a walk must be at a few filter shares
    curve = IndexCache().hnsw_index(ds.uri).meta["filter_ef"]  # type: ignore[union-attr]
    assert curve and curve[0][0] == 0.5 and all(m is None or m >= 1 for _, m in curve)

    # More-like-this leaves the sample itself out.
    rows = nearest(ds, vecs[20], 5, exclude="s10", config=CFG)[0]
    assert len(rows) == 5 and "s10" not in {r["sample_id"] for r in rows}


def test_index_file_is_reloaded_when_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "e.lance"
    ds, _ = table(path, 1500, 10)
    ensure_vector_index(ds, CFG)
    cache = IndexCache()
    first = cache.hnsw_index(ds.uri)
    assert cache.hnsw_index(ds.uri) is first  # held by its owner
    assert IndexCache().hnsw_index(ds.uri) is not first  # another owner loads its own
    write(path, clustered(20, 11), start=1500, mode="append")
    ds, _ = ensure_vector_index(lance.dataset(str(path)), CFG)
    second = cache.hnsw_index(ds.uri)
    assert second is not first and second.ntotal == 1520 and first.ntotal == 1500
    hnsw.remove(ds.uri)
    assert cache.hnsw_index(ds.uri) is None and describe(ds)["index"] == "exact"


def chunked_table(path: Path, vecs: np.ndarray, chunk: int = 1000) -> object:
    """One Lance fragment per ``chunk`` rows, so a build reads the table in several batches."""
    for lo in range(0, len(vecs), chunk):
        write(path, vecs[lo : lo + chunk], start=lo, mode="create" if lo == 0 else "append")
    return lance.dataset(str(path))


def test_a_pilot_that_cannot_reach_the_target_stores_vectors_for_exact_search(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A target no graph reaches stands in for uniform high-dimensional data (at 1M x 512
    # uniform, bench/index.py: recall 0.35 at ef 2048); the build must notice on the pilot.
    monkeypatch.setattr(ann, "PILOT_ROWS", 2000)
    path = tmp_path / "e.lance"
    vecs = clustered(5000, 11)
    ds = chunked_table(path, vecs)
    cfg = VectorIndexConfig(threshold=1000, target_recall=1.01)
    ds, action = ensure_vector_index(ds, cfg)
    info = describe(ds)
    assert action == "built" and info["index"] == "FLAT" and info["exact_scan"]
    assert info["indexed_rows"] == 5000
    loaded = hnsw.load(ds.uri)
    meta = loaded.meta
    assert meta["pilot"]["rows"] == 2000 and not meta["pilot"]["reached"]
    # Scanned by numpy: aligned, or numpy skips BLAS (a mapped file's layout need not be).
    assert loaded.vectors.flags.aligned and loaded.vectors.flags.c_contiguous
    queries = held_out(20, 11)
    truth, _ = exact_topk(vecs, queries, 10)
    # Exact answers, with or without an explicit ef (there is no graph to walk).
    for cfg_q in (cfg, VectorIndexConfig(threshold=1000, ef=16)):
        found = [search_ids(ds, q, 10, cfg_q) for q in queries]
        assert [list(f) for f in found] == [list(t) for t in truth]
    # Rows appended later are found, then folded into the flat store.
    new = clustered(3, 12)
    write(path, new, start=5000, mode="append")
    ds = lance.dataset(str(path))
    assert search_ids(ds, new[1], 1, cfg) == [5001]
    ds, action = ensure_vector_index(ds, cfg)
    assert action == "extended" and describe(ds)["index"] == "FLAT"
    assert hnsw.load(ds.uri).ntotal == 5003 and search_ids(ds, new[2], 1, cfg) == [5002]


def test_a_pilot_that_reaches_the_target_keeps_its_rows_in_the_graph(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ann, "PILOT_ROWS", 4000)
    vecs = clustered(8000, 13)
    ds, _ = ensure_vector_index(chunked_table(tmp_path / "e.lance", vecs), CALIBRATED)
    assert describe(ds)["index"] == "HNSW32_FLAT"
    idx = hnsw.load(ds.uri)
    assert idx.ntotal == 8000 and idx.meta["pilot"]["rows"] == 4000
    assert idx.meta["pilot"]["reached"]
    queries = held_out(30, 13)
    truth, _ = exact_topk(vecs, queries, 10)
    assert recall_at_k([search_ids(ds, q, 10) for q in queries], truth, 10) >= 0.95


def test_filtered_walk_scans_cheap_or_sparse_filters_and_widens_the_walk_for_the_rest() -> None:
    cfg = VectorIndexConfig()  # m 32: a walk costs ~64 distances per ef
    assert ann.filtered_walk(1_000_000, 5_000, 512, 100, cfg) is None  # 2.6M multiply-adds
    half = ann.filtered_walk(1_000_000, 500_000, 512, 100, cfg)
    tenth = ann.filtered_walk(1_000_000, 100_000, 512, 100, cfg)
    assert half is not None and tenth is not None and 100 < half < tenth <= 800
    # 30,000 rows are past scan_work but a walk at 8x ef 273 would visit more than them
    assert ann.filtered_walk(1_000_000, 30_000, 512, 273, cfg) is None
    assert ann.filtered_walk(1_000_000, 30_000, 512, 16, cfg) == 128  # capped at 8x
    assert ann.filtered_walk(100, 99, 8, 16, VectorIndexConfig(scan_work=0)) is None
    # with the build's measurements: the smaller measured share's multiplier, grown
    # below the smallest, and a scan where the walk never reached the target
    curve = [[0.5, 1.0], [0.2, 1.5], [0.1, 3.375], [0.05, None]]
    assert ann.filtered_walk(1_000_000, 600_000, 512, 100, cfg, curve) == 100
    assert ann.filtered_walk(1_000_000, 300_000, 512, 100, cfg, curve) == 150
    assert ann.filtered_walk(1_000_000, 100_000, 512, 100, cfg, curve) == 337
    assert ann.filtered_walk(1_000_000, 80_000, 512, 100, cfg, curve) is None
    assert ann.filtered_walk(1_000_000, 50_000, 512, 100, cfg, [[0.1, 1.0]]) == 151

"""The search methods that bench/index.py compares, each behind one small adapter.

Every method is built from the same float32 unit vectors with the same graph
settings (M edges per node, efConstruction), exposes one search knob (efSearch or
its equivalent), a one-query search and a batch search, and is freed after its
turn so a 1M run holds at most the reference and one other index at a time.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

K = 10


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class Method:
    """One search method: a knob setter, a one-query search, a batch search and a free."""

    name: str
    knobs: list[Any]
    set_knob: Callable[[Any], None]
    one: Callable[[np.ndarray], list[int]]
    batch: Callable[[np.ndarray, int], Any]  # (queries, threads)
    free: Callable[[], None] = lambda: None
    # filtered search: a filter from a boolean row mask, and a one-query search under it
    make_filter: Callable[[np.ndarray], Any] | None = None
    one_filtered: Callable[[np.ndarray, Any], list[int]] | None = None
    build_s: float = float("nan")
    rss: float = float("nan")
    note: str = ""
    rows: list[tuple[Any, float, float]] = field(default_factory=list)  # knob, recall, q/s


def timed_build(name: str, build: Callable[[], Method]) -> Method:
    gc.collect()
    r0 = rss_mb()
    t0 = time.perf_counter()
    m = build()
    m.build_s, m.rss = time.perf_counter() - t0, rss_mb() - r0
    print(f"{name} build: {m.build_s:.1f} s, RSS +{m.rss:.0f} MB {m.note}", flush=True)
    return m


def faiss_hnsw(vecs: np.ndarray, m: int, efc: int, threads: int, efs: list[int]) -> Method:
    """FAISS ``IndexHNSWFlat`` built as a user would, at the given settings."""
    import faiss

    def build() -> Method:
        faiss.omp_set_num_threads(threads)
        idx = faiss.IndexHNSWFlat(vecs.shape[1], m, faiss.METRIC_INNER_PRODUCT)
        idx.hnsw.efConstruction = efc
        idx.add(vecs)
        faiss.omp_set_num_threads(1)

        def batch(qs: np.ndarray, t: int) -> Any:
            faiss.omp_set_num_threads(t)
            try:
                return idx.search(qs, K)
            finally:
                faiss.omp_set_num_threads(1)

        def make_filter(mask: np.ndarray) -> Any:
            bits = np.packbits(mask, bitorder="little")
            return bits, faiss.IDSelectorBitmap(len(mask), faiss.swig_ptr(bits))

        def one_filtered(q: np.ndarray, flt: Any) -> list[int]:
            params = faiss.SearchParametersHNSW()
            params.efSearch = idx.hnsw.efSearch
            params.sel = flt[1]
            return [i for i in idx.search(q[None, :], K, params=params)[1][0].tolist() if i >= 0]

        return Method(
            f"faiss-hnsw{m}",
            list(efs),
            lambda ef: setattr(idx.hnsw, "efSearch", int(ef)),
            lambda q: idx.search(q[None, :], K)[1][0].tolist(),
            batch,
            free=idx.reset,
            make_filter=make_filter,
            one_filtered=one_filtered,
        )

    return timed_build(f"faiss HNSW{m} (efConstruction {efc})", build)


def hnswlib_index(vecs: np.ndarray, m: int, efc: int, threads: int, efs: list[int]) -> Method:
    import hnswlib

    def build() -> Method:
        n, dim = vecs.shape
        idx = hnswlib.Index(space="ip", dim=dim)
        idx.init_index(max_elements=n, ef_construction=efc, M=m, random_seed=0)
        idx.add_items(vecs, np.arange(n), num_threads=threads)
        holder = [idx]

        def free() -> None:
            holder.clear()

        def one_filtered(q: np.ndarray, allow: Any) -> list[int]:
            return holder[0].knn_query(q, K, num_threads=1, filter=allow)[0][0].tolist()

        return Method(
            "hnswlib",
            list(efs),
            lambda ef: holder[0].set_ef(int(ef)),
            lambda q: holder[0].knn_query(q, K, num_threads=1)[0][0].tolist(),
            lambda qs, t: holder[0].knn_query(qs, K, num_threads=t),
            free=free,
            make_filter=lambda mask: lambda label: bool(mask[label]),  # its Python callback
            one_filtered=one_filtered,
        )

    return timed_build(f"hnswlib M{m} (ef_construction {efc})", build)


def usearch_index(
    vecs: np.ndarray, m: int, efc: int, threads: int, efs: list[int], dtype: str = "f32"
) -> Method:
    from usearch.index import Index

    def build() -> Method:
        n, dim = vecs.shape
        idx = Index(
            ndim=dim,
            metric="ip",
            dtype=dtype,
            connectivity=m,
            expansion_add=efc,
            expansion_search=64,
        )
        idx.add(np.arange(n, dtype=np.uint64), vecs, threads=threads)
        holder = [idx]

        def set_ef(ef: Any) -> None:
            holder[0].expansion_search = int(ef)

        def free() -> None:
            holder[0].reset()
            holder.clear()

        return Method(
            "usearch" if dtype == "f32" else f"usearch-{dtype}",
            list(efs),
            set_ef,
            lambda q: holder[0].search(q, K, threads=1).keys.tolist(),
            lambda qs, t: holder[0].search(qs, K, threads=t),
            free=free,
        )

    return timed_build(f"usearch connectivity {m} (expansion_add {efc}, {dtype})", build)


def plait_index(
    ds: Any, cfg_kwargs: dict[str, Any], threads: int, efs: list[int], name: str = "plait"
) -> Method:
    """plait as ``plait index`` builds it and ``plait search`` queries it
    (``plait.index.vector.nearest``: index file, unindexed-tail check, label -> sample id)."""
    import faiss
    import lance

    from plait.index import IndexCache, VectorIndexConfig, ann, hnsw
    from plait.index.vector import describe, ensure_vector_index, nearest

    holder: dict[str, Any] = {"threads": threads, "cache": IndexCache()}

    def build() -> Method:
        cfg = VectorIndexConfig(threshold=0, **cfg_kwargs)
        faiss.omp_set_num_threads(holder["threads"])
        hnsw.remove(ds.uri)
        ensure_vector_index(ds, cfg)
        faiss.omp_set_num_threads(1)
        fresh = lance.dataset(ds.uri)
        holder.update(ds=fresh, cfg=cfg)
        q0 = np.zeros(fresh.schema.field("vector").type.list_size, np.float32)
        q0[0] = 1.0
        held = holder["cache"]  # what a Searcher holds: the index stays loaded
        nearest(fresh, q0, K, config=cfg, cache=held)  # load the index into this process
        info = describe(fresh)
        note = f"({info['index']}, calibrated ef {info['ef_search']}, scan: {info['exact_scan']})"
        query_cfg = {k: v for k, v in cfg_kwargs.items() if k in ("storage", "k_expansion")}

        def set_ef(ef: Any) -> None:
            holder["cfg"] = VectorIndexConfig(
                threshold=0, ef=None if ef == "default" else int(ef), **query_cfg
            )

        def one(q: np.ndarray) -> list[int]:
            rows = nearest(holder["ds"], q, K, config=holder["cfg"], cache=held)[0]
            return [int(r["sample_id"][1:]) for r in rows]

        def batch(qs: np.ndarray, t: int) -> Any:
            faiss.omp_set_num_threads(t)
            try:
                return ann.ann_search(holder["ds"], qs, K, config=holder["cfg"], cache=held)
            finally:
                faiss.omp_set_num_threads(1)

        def make_filter(mask: np.ndarray) -> set[str]:
            return {f"s{i}" for i in np.flatnonzero(mask)}  # what a where filter resolves to

        def one_filtered(q: np.ndarray, allowed: set[str]) -> list[int]:
            rows = nearest(holder["ds"], q, K, allowed=allowed, config=holder["cfg"], cache=held)
            return [int(r["sample_id"][1:]) for r in rows[0]]

        def free() -> None:
            holder["cache"] = IndexCache()

        # no graph (the pilot found HNSW useless) or a scan calibrated faster: every ef is
        # the same exact scan unless forced, so sweep the default only
        knobs = ["default"] if info["index"] == "FLAT" else ["default", *efs]
        return Method(
            name,
            knobs,
            set_ef,
            one,
            batch,
            free=free,
            note=note,
            make_filter=make_filter,
            one_filtered=one_filtered,
        )

    return timed_build(f"{name} {cfg_kwargs}", build)

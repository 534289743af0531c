"""Vector index: recall@10 against exact search, and queries/s against FAISS, in one run.

For each synthetic set (``clustered``: a Gaussian mixture around 1,000 centres;
``uniform``: points spread evenly on the unit sphere, the hard case), this:

1. writes N x DIM L2-normalised float32 vectors as a plait embeddings table;
2. computes the exact top-10 of every query with numpy (``plait.index.exact``);
3. builds plait's Lance index (``plait.index.vector``), FAISS ``IndexHNSWFlat(d, 32)``
   and FAISS ``IndexIVFFlat`` (nlist = 4 * sqrt(N)), timing each build and the
   resident memory it adds;
4. sweeps each method's search knob (Lance ``ef``, HNSW ``efSearch``, IVF
   ``nprobe``), one query per call (how ``plait search`` asks), and prints
   recall@10 and queries/s per setting;
5. prints, per method, the fastest setting with recall@10 >= the target, and the
   ratio of Lance's queries/s to FAISS HNSW32's at that matched recall.

Both libraries run on the same cores in the same process; nothing is compared
across runs. Usage: ``python bench/index.py --n 100000`` (the issue asks for
``--n 1000000``, which needs about 2 GB per copy of the vectors).
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

from plait.index.exact import exact_topk, normalise, recall_at_k
from plait.index.vector import VectorIndexConfig, create_vector_index, nearest_params, vector_search
from plait.schema import embeddings_schema


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def make_vectors(
    kind: str, n: int, nq: int, dim: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    if kind == "uniform":
        base = rng.standard_normal((n, dim), dtype=np.float32)
        queries = rng.standard_normal((nq, dim), dtype=np.float32)
    else:
        centres = rng.standard_normal((1000, dim), dtype=np.float32)
        base = np.empty((n, dim), dtype=np.float32)
        step = 100_000
        for lo in range(0, n, step):
            m = min(step, n - lo)
            base[lo : lo + m] = centres[rng.integers(0, 1000, m)]
            base[lo : lo + m] += 0.6 * rng.standard_normal((m, dim), dtype=np.float32)
        queries = centres[rng.integers(0, 1000, nq)] + 0.6 * rng.standard_normal(
            (nq, dim), dtype=np.float32
        )
    for lo in range(0, n, 100_000):
        base[lo : lo + 100_000] = normalise(base[lo : lo + 100_000])
    return base, normalise(queries)


def write_table(path: Path, vecs: np.ndarray) -> None:
    import lance

    n, dim = vecs.shape
    sch = embeddings_schema(dim)

    def batches():
        for lo in range(0, n, 50_000):
            v = vecs[lo : lo + 50_000]
            ids = [f"s{i}" for i in range(lo, lo + len(v))]
            yield pa.record_batch(
                [
                    pa.array(ids),
                    pa.array(np.zeros(len(v), np.int32)),
                    pa.array(["text"] * len(v)),
                    pa.array(ids),
                    pa.FixedSizeListArray.from_arrays(pa.array(v.ravel()), dim),
                ],
                schema=sch,
            )

    lance.write_dataset(pa.RecordBatchReader.from_batches(sch, batches()), str(path), schema=sch)


def timed_queries(search, queries: np.ndarray) -> tuple[list[list[int]], float]:
    found = []
    t0 = time.perf_counter()
    for q in queries:
        found.append(search(q))
    return found, len(queries) / (time.perf_counter() - t0)


def sweep(
    name: str, knobs, setter, search, queries, truth, k: int
) -> list[tuple[str, float, float]]:
    rows = []
    for knob in knobs:
        setter(knob)
        search(queries[0])  # warm caches for this setting
        found, qps = timed_queries(search, queries)
        rec = recall_at_k(found, truth, k)
        rows.append((f"{name} {knob}", rec, qps))
        print(f"  {name:<14} {str(knob):<22} recall@{k} {rec:.3f}  {qps:9.1f} q/s", flush=True)
    return rows


def batch_qps(name: str, rows, knobs, setter, batch_search, queries, target: float) -> float | None:
    """Queries/s of one call over all queries, at the fastest single-query setting reaching target."""
    b = best_at(rows, target)
    if b is None:
        return None
    knob = knobs[[f"{name} {kb}" for kb in knobs].index(b[0])]
    setter(knob)
    batch_search(queries[:8])
    t0 = time.perf_counter()
    batch_search(queries)
    qps = len(queries) / (time.perf_counter() - t0)
    print(f"  {name:<14} {str(knob):<22} batched: {qps:9.1f} q/s", flush=True)
    return qps


def best_at(rows: list[tuple[str, float, float]], target: float) -> tuple[str, float, float] | None:
    ok = [r for r in rows if r[1] >= target]
    return max(ok, key=lambda r: r[2]) if ok else None


def run_set(kind: str, args: argparse.Namespace, workdir: Path) -> None:
    import faiss
    import lance

    k = 10
    print(f"\n== {kind}: {args.n:,} x {args.dim}, {args.queries} queries ==", flush=True)
    vecs, queries = make_vectors(kind, args.n, args.queries, args.dim)
    t0 = time.perf_counter()
    truth, _ = exact_topk(vecs, queries, k)
    t_exact = time.perf_counter() - t0
    print(
        f"exact numpy top-{k}: {t_exact:.1f} s for {args.queries} queries "
        f"({args.queries / t_exact:.1f} q/s, batched matmul)",
        flush=True,
    )

    path = workdir / f"{kind}.lance"
    write_table(path, vecs)
    cfg = VectorIndexConfig(
        threshold=0,
        index_type=args.index_type,
        rows_per_partition=args.rows_per_partition,
        m=args.m,
        ef_construction=args.ef_construction,
    )
    ds = lance.dataset(str(path))
    gc.collect()
    r0 = rss_mb()
    t0 = time.perf_counter()
    create_vector_index(ds, cfg)
    t_lance = time.perf_counter() - t0
    idx_bytes = sum(f.stat().st_size for f in (path / "_indices").rglob("*") if f.is_file())
    print(
        f"lance {cfg.index_type} build: {t_lance:.1f} s, partitions {cfg.partitions(args.n)}, "
        f"m {cfg.m}, RSS +{rss_mb() - r0:.0f} MB, index on disk {idx_bytes / 2**20:.0f} MB",
        flush=True,
    )
    ds = lance.dataset(str(path))
    ids_of = {f"s{i}": i for i in range(args.n)} if args.n <= 2_000_000 else None
    lance_cfg: dict[str, VectorIndexConfig] = {}

    def lance_set(knob: tuple[int, int | None]) -> None:
        ef, refine = knob
        lance_cfg["c"] = VectorIndexConfig(ef=ef, refine_factor=refine, nprobes=args.nprobes)

    def lance_search(q: np.ndarray) -> list[int]:
        rows = vector_search(ds, q, k, columns=("sample_id",), config=lance_cfg["c"])
        return [ids_of[r["sample_id"]] for r in rows]

    def lance_batch(qs: np.ndarray) -> None:
        params = nearest_params(ds, qs[0], k, lance_cfg["c"])
        params["q"] = qs
        ds.to_table(columns=["sample_id"], nearest=params)

    lance_knobs = [(ef, rf) for rf in (None, 2) for ef in args.efs]
    rows = sweep("lance", lance_knobs, lance_set, lance_search, queries, truth, k)
    batched = {
        "lance": batch_qps("lance", rows, lance_knobs, lance_set, lance_batch, queries, args.target)
    }
    gc.collect()

    faiss.omp_set_num_threads(1)  # one query per call: threads only add overhead
    r0 = rss_mb()
    t0 = time.perf_counter()
    hnsw = faiss.IndexHNSWFlat(args.dim, 32, faiss.METRIC_INNER_PRODUCT)
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    hnsw.hnsw.efConstruction = 40
    hnsw.add(vecs)
    t_hnsw = time.perf_counter() - t0
    print(f"faiss HNSW32 build: {t_hnsw:.1f} s, RSS +{rss_mb() - r0:.0f} MB", flush=True)
    faiss.omp_set_num_threads(1)

    def hnsw_set(ef: int) -> None:
        hnsw.hnsw.efSearch = ef

    def hnsw_search(q: np.ndarray) -> list[int]:
        return hnsw.search(q[None, :], k)[1][0].tolist()

    def faiss_batch(index):
        def run(qs: np.ndarray) -> None:
            faiss.omp_set_num_threads(os.cpu_count() or 1)
            index.search(qs, k)
            faiss.omp_set_num_threads(1)

        return run

    hrows = sweep("faiss-hnsw32", args.efs, hnsw_set, hnsw_search, queries, truth, k)
    batched["faiss-hnsw32"] = batch_qps(
        "faiss-hnsw32", hrows, args.efs, hnsw_set, faiss_batch(hnsw), queries, args.target
    )
    rows += hrows
    hnsw.reset()
    gc.collect()

    nlist = int(4 * np.sqrt(args.n))
    r0 = rss_mb()
    t0 = time.perf_counter()
    quant = faiss.IndexFlatIP(args.dim)
    ivf = faiss.IndexIVFFlat(quant, args.dim, nlist, faiss.METRIC_INNER_PRODUCT)
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    ivf.train(vecs[np.random.default_rng(1).choice(args.n, min(args.n, 64 * nlist), replace=False)])
    ivf.add(vecs)
    t_ivf = time.perf_counter() - t0
    print(f"faiss IVF{nlist},Flat build: {t_ivf:.1f} s, RSS +{rss_mb() - r0:.0f} MB", flush=True)
    faiss.omp_set_num_threads(1)

    def ivf_set(nprobe: int) -> None:
        ivf.nprobe = nprobe

    def ivf_search(q: np.ndarray) -> list[int]:
        return ivf.search(q[None, :], k)[1][0].tolist()

    probes = [p for p in (1, 4, 8, 16, 32, 64, 128, 256) if p <= nlist]
    irows = sweep("faiss-ivf", probes, ivf_set, ivf_search, queries, truth, k)
    batched["faiss-ivf"] = batch_qps(
        "faiss-ivf", irows, probes, ivf_set, faiss_batch(ivf), queries, args.target
    )
    rows += irows
    ivf.reset()
    del vecs
    gc.collect()

    print(f"\n-- {kind}: fastest setting with recall@{k} >= {args.target} --")
    best = {}
    for prefix in ("lance", "faiss-hnsw32", "faiss-ivf"):
        b = best_at([r for r in rows if r[0].startswith(prefix + " ")], args.target)
        best[prefix] = b
        if b:
            print(f"  {prefix:<13} {b[0]:<32} recall {b[1]:.3f}  {b[2]:9.1f} q/s")
        else:
            top = max((r for r in rows if r[0].startswith(prefix + " ")), key=lambda r: r[1])
            print(
                f"  {prefix:<13} never reaches {args.target} (best recall {top[1]:.3f} at {top[0]}, {top[2]:.1f} q/s)"
            )
    if best["lance"] and best["faiss-hnsw32"]:
        ratio = best["lance"][2] / best["faiss-hnsw32"][2]
        verdict = "meets" if ratio >= 1 else "misses"
        print(
            f"  lance / faiss-hnsw32 queries/s at matched recall, one query per call: {ratio:.2f} "
            f"({verdict} the goal of >= 1.0)"
        )
    if batched.get("lance") and batched.get("faiss-hnsw32"):
        ratio = batched["lance"] / batched["faiss-hnsw32"]
        print(
            f"  lance / faiss-hnsw32 queries/s at matched recall, all queries in one call: {ratio:.2f}"
        )
    print(f"  build seconds: lance {t_lance:.1f}, faiss-hnsw32 {t_hnsw:.1f}, faiss-ivf {t_ivf:.1f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=512)
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--sets", default="clustered,uniform")
    ap.add_argument("--target", type=float, default=0.95)
    ap.add_argument("--index-type", default=VectorIndexConfig.index_type)
    ap.add_argument("--rows-per-partition", type=int, default=VectorIndexConfig.rows_per_partition)
    ap.add_argument("--m", type=int, default=VectorIndexConfig.m)
    ap.add_argument("--ef-construction", type=int, default=VectorIndexConfig.ef_construction)
    ap.add_argument("--nprobes", type=int, default=None)
    ap.add_argument("--efs", default="16,32,64,128,256,512")
    ap.add_argument("--workdir", default=None)
    args = ap.parse_args()
    args.efs = [int(x) for x in args.efs.split(",")]
    print(f"cores: {os.cpu_count()}, pid {os.getpid()}")
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="plait-bench-index-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        for kind in args.sets.split(","):
            run_set(kind, args, workdir)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()

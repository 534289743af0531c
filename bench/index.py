"""Vector search: plait against exact numpy, FAISS HNSW32 and FAISS IVF, in one run.

For each synthetic set (``clustered``: a Gaussian mixture around 1,000 centres,
queries drawn from the same mixture; ``uniform``: points spread evenly on the
unit sphere, the hard case), this:

1. writes N x DIM L2-normalised float32 vectors as a plait embeddings table
   (and, for the end-to-end row, a samples table);
2. computes the exact top-10 of every query with numpy (``plait.index.exact``),
   timing it batched and one query per call;
3. builds plait's index the way ``plait index`` does
   (``plait.index.vector.ensure_vector_index``: faiss HNSW32 over float vectors,
   read from the Lance table, efConstruction 80, ``ef`` calibrated at build; when a
   100k-row pilot shows the graph cannot reach the recall target, plait stores the
   vectors flat for an exact scan instead of finishing the graph), FAISS
   ``IndexHNSWFlat(d, 32)`` (efConstruction 40, FAISS's default) and FAISS ``IndexIVFFlat``
   (nlist = 4 * sqrt(N)), timing each build and the resident memory it adds;
4. sweeps each method's search knob (``ef`` / ``efSearch`` / ``nprobe``) one
   query per call, plait through ``plait.index.vector.nearest`` (the function
   ``plait search`` calls for its vector step: index file, unindexed-tail check,
   label -> sample id mapping);
5. takes, per method, the fastest setting with recall@10 >= the target, re-times
   plait and FAISS HNSW32 at those settings alternately (so load on the machine
   hits both alike), then times all queries in one call (plait through
   ``plait.index.ann.ann_search``, the batch form of the same step);
6. times ``Searcher.search`` end to end (grouping, samples attached) at plait's
   defaults, for what a user of ``plait search`` sees.

Single-query runs use one faiss thread for every method; batched runs use all
cores for every method. Nothing is compared across runs.
Usage: ``python bench/index.py`` (N = 100,000); the issue's size is
``python bench/index.py --n 1000000 --sets clustered`` (needs ~12 GB RAM; on 2 quiet
cores the builds take tens of minutes per set).
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from plait.index.exact import exact_topk, recall_at_k
from plait.schema import embeddings_schema
from plait.vectors import l2_normalise

K = 10


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
        base[lo : lo + 100_000] = l2_normalise(base[lo : lo + 100_000])
    return base, l2_normalise(queries)


def write_corpus(root: Path, vecs: np.ndarray) -> Any:
    """A plait corpus with one sample per vector and the embeddings table ``bench``."""
    import lance

    from plait.io.corpus import Corpus
    from plait.schema import Sample, Source, samples_table

    corpus = Corpus.init(root)
    n, dim = vecs.shape
    for lo in range(0, n, 50_000):
        hi = min(n, lo + 50_000)
        src = Source(uri="bench", dataset="bench", licence="CC0-1.0")
        samples = [
            Sample(id=f"s{i}", kind="text", texts=[f"t{i}"], images=[None], source=src)
            for i in range(lo, hi)
        ]
        corpus.append("samples", samples_table(samples))
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

    path = corpus.embeddings_path("bench")
    path.parent.mkdir(parents=True, exist_ok=True)
    reader = pa.RecordBatchReader.from_batches(sch, batches())
    lance.write_dataset(reader, str(path), schema=sch)
    return corpus


def per_call(search: Callable[[np.ndarray], list[int]], queries: np.ndarray) -> tuple[list, float]:
    search(queries[0])  # warm caches for this setting
    found = []
    t0 = time.perf_counter()
    for q in queries:
        found.append(search(q))
    return found, len(queries) / (time.perf_counter() - t0)


def batched(run: Callable[[np.ndarray], Any], queries: np.ndarray, threads: int) -> float:
    import faiss

    faiss.omp_set_num_threads(threads)
    run(queries[:8])
    t0 = time.perf_counter()
    run(queries)
    qps = len(queries) / (time.perf_counter() - t0)
    faiss.omp_set_num_threads(1)
    return qps


class Method:
    """One search method: a knob setter, a one-query search and a batch search."""

    def __init__(self, name: str, knobs: list[Any], set_knob, one, batch) -> None:
        self.name, self.knobs, self.set_knob, self.one, self.batch = (
            name,
            knobs,
            set_knob,
            one,
            batch,
        )
        self.rows: list[tuple[Any, float, float]] = []  # knob, recall, q/s
        self.build_s = float("nan")
        self.rss = float("nan")
        self.slower_than_exact: Any = None  # the knob where the sweep fell below exact

    def sweep(
        self, queries: np.ndarray, truth: np.ndarray, target: float, floor_qps: float = 0.0
    ) -> None:
        """Knobs in order until recall passes the target by a margin, or the method is
        slower than ``floor_qps`` (exact search): past that it cannot win at any recall."""
        for knob in self.knobs:
            self.set_knob(knob)
            found, qps = per_call(self.one, queries)
            rec = recall_at_k(found, truth, K)
            self.rows.append((knob, rec, qps))
            print(f"  {self.name:<13} {knob!s:<10} recall@{K} {rec:.3f} {qps:9.1f} q/s", flush=True)
            if knob != "default" and rec >= min(1.0, target + 0.03):
                break
            if qps < floor_qps:
                self.slower_than_exact = knob
                break

    def best(self, target: float) -> tuple[Any, float, float] | None:
        ok = [r for r in self.rows if r[1] >= target]
        return max(ok, key=lambda r: r[2]) if ok else None


def run_set(kind: str, args: argparse.Namespace, workdir: Path) -> list[str]:
    import faiss

    from plait.index import IndexCache, VectorIndexConfig, ann
    from plait.index.vector import describe, ensure_vector_index, nearest

    threads = os.cpu_count() or 1
    faiss.omp_set_num_threads(1)
    print(f"\n== {kind}: {args.n:,} x {args.dim}, {args.queries} queries ==", flush=True)
    vecs, queries = make_vectors(kind, args.n, args.queries, args.dim)
    t0 = time.perf_counter()
    truth, _ = exact_topk(vecs, queries, K)
    exact_batch = args.queries / (time.perf_counter() - t0)

    def exact_one_query(q: np.ndarray) -> list[int]:  # vecs are already unit length
        s = vecs @ q
        top = np.argpartition(-s, K)[:K]
        return top[np.argsort(-s[top])].tolist()

    _, exact_one = per_call(exact_one_query, queries[: min(50, args.queries)])
    print(
        f"exact numpy: {exact_one:.1f} q/s one per call, {exact_batch:.1f} q/s batched", flush=True
    )

    corpus = write_corpus(workdir / kind, vecs)
    import lance

    ds = lance.dataset(str(corpus.embeddings_path("bench")))
    methods: list[Method] = []

    # plait: the `plait index` build, then the vector step of `plait search`
    cfg = VectorIndexConfig(
        threshold=0,
        m=args.m,
        ef_construction=args.ef_construction,
        storage=args.storage,
        k_expansion=args.k_expansion,
    )
    gc.collect()
    r0 = rss_mb()
    t0 = time.perf_counter()
    faiss.omp_set_num_threads(threads)
    ensure_vector_index(ds, cfg)
    ds = lance.dataset(ds.uri)
    build_s = time.perf_counter() - t0
    faiss.omp_set_num_threads(1)
    held = IndexCache()  # what a Searcher holds: the index stays loaded between queries
    nearest(ds, queries[0], K, config=cfg, cache=held)  # load the file into this process
    info = describe(ds)
    print(
        f"plait build: {build_s:.1f} s, {info['index']}, calibrated ef {info['ef_search']}, "
        f"RSS +{rss_mb() - r0:.0f} MB",
        flush=True,
    )
    pl_cfg: dict[str, VectorIndexConfig] = {"c": cfg}

    def pl_set(ef: Any) -> None:
        pl_cfg["c"] = VectorIndexConfig(
            threshold=0,
            storage=args.storage,
            k_expansion=args.k_expansion,
            ef=None if ef == "default" else ef,
        )

    def pl_one(q: np.ndarray) -> list[int]:
        rows = nearest(ds, q, K, config=pl_cfg["c"], cache=held)[0]
        return [int(r["sample_id"][1:]) for r in rows]

    def pl_batch(qs: np.ndarray) -> Any:
        return ann.ann_search(ds, qs, K, config=pl_cfg["c"], cache=held)

    # Without a graph (the pilot found HNSW useless here) every ef is the same exact scan.
    knobs = ["default"] if info["index"] == "FLAT" else ["default", *args.efs]
    plait = Method("plait", knobs, pl_set, pl_one, pl_batch)
    plait.build_s, plait.rss = build_s, rss_mb() - r0
    methods.append(plait)
    plait.sweep(queries, truth, args.target)

    # FAISS HNSW32, raw
    gc.collect()
    r0 = rss_mb()
    t0 = time.perf_counter()
    faiss.omp_set_num_threads(threads)
    hnsw = faiss.IndexHNSWFlat(args.dim, 32, faiss.METRIC_INNER_PRODUCT)
    hnsw.hnsw.efConstruction = 40
    hnsw.add(vecs)
    faiss.omp_set_num_threads(1)
    fh = Method(
        "faiss-hnsw32",
        args.efs,
        lambda ef: setattr(hnsw.hnsw, "efSearch", ef),
        lambda q: hnsw.search(q[None, :], K)[1][0].tolist(),
        lambda qs: hnsw.search(qs, K),
    )
    fh.build_s, fh.rss = time.perf_counter() - t0, rss_mb() - r0
    print(f"faiss HNSW32 build: {fh.build_s:.1f} s, RSS +{fh.rss:.0f} MB", flush=True)
    methods.append(fh)
    fh.sweep(queries, truth, args.target, floor_qps=exact_one)

    # FAISS IVF,Flat
    nlist = int(4 * np.sqrt(args.n))
    r0 = rss_mb()
    t0 = time.perf_counter()
    faiss.omp_set_num_threads(threads)
    ivf = faiss.IndexIVFFlat(
        faiss.IndexFlatIP(args.dim), args.dim, nlist, faiss.METRIC_INNER_PRODUCT
    )
    train = vecs[np.random.default_rng(1).choice(args.n, min(args.n, 64 * nlist), replace=False)]
    ivf.train(train)
    ivf.add(vecs)
    faiss.omp_set_num_threads(1)
    fi = Method(
        "faiss-ivf",
        [*(p for p in (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048) if p < nlist), nlist],
        lambda p: setattr(ivf, "nprobe", p),
        lambda q: ivf.search(q[None, :], K)[1][0].tolist(),
        lambda qs: ivf.search(qs, K),
    )
    fi.build_s, fi.rss = time.perf_counter() - t0, rss_mb() - r0
    print(f"faiss IVF{nlist},Flat build: {fi.build_s:.1f} s, RSS +{fi.rss:.0f} MB", flush=True)
    methods.append(fi)
    fi.sweep(queries, truth, args.target, floor_qps=exact_one)

    # Matched recall: re-time plait and FAISS HNSW32 alternately at their best settings.
    best = {m.name: m.best(args.target) for m in methods}
    one_qps: dict[str, float] = {}
    if best["plait"] and best["faiss-hnsw32"]:
        for _ in range(args.rounds):
            for m in (plait, fh):
                m.set_knob(best[m.name][0])
                one_qps[m.name] = max(one_qps.get(m.name, 0.0), per_call(m.one, queries)[1])
    batch_qps = {}
    for m in methods:
        if best[m.name]:
            m.set_knob(best[m.name][0])
            batch_qps[m.name] = batched(m.batch, queries, threads)

    # End to end: Searcher.search at plait's defaults (encoder stubbed with the query vectors).
    from plait.retrieval import Query, Searcher

    class VectorsAsText:
        name, dim, modalities = "bench", args.dim, frozenset({"text"})

        def encode_text(self, texts: Any) -> np.ndarray:
            return queries[[int(t) for t in texts]]

        def encode_images(self, images: Any) -> np.ndarray:
            raise NotImplementedError

    searcher = Searcher(corpus, encoder=VectorsAsText())
    nq = min(100, args.queries)
    searcher.search(Query(text="0"))
    t0 = time.perf_counter()
    e2e = [[int(h.sample_id[1:]) for h in searcher.search(Query(text=str(i)))] for i in range(nq)]
    e2e_qps = nq / (time.perf_counter() - t0)
    e2e_rec = recall_at_k(e2e, truth[:nq], K)

    ref = one_qps.get("faiss-hnsw32") or (best["faiss-hnsw32"] or (0, 0, 0))[2]
    bref = batch_qps.get("faiss-hnsw32")
    lines = [
        f"{kind} N={args.n:,}: fastest setting with recall@{K} >= {args.target}",
        f"{'method':<14}{'setting':>9}{'recall':>8}{'q/s 1/call':>12}{'x hnsw32':>9}"
        f"{'q/s batch':>11}{'x hnsw32':>9}{'build s':>9}{'RSS MB':>8}",
    ]
    for m in methods:
        b = best[m.name]
        if b is None:
            top = max(m.rows, key=lambda r: r[1])
            why = (
                f"; slower than exact numpy from {m.slower_than_exact} on"
                if m.slower_than_exact is not None
                else ""
            )
            lines.append(
                f"{m.name:<14} never reaches {args.target} (best {top[1]:.3f} at {top[0]}, "
                f"{top[2]:.1f} q/s{why}), build {m.build_s:.1f} s"
            )
            continue
        q1 = one_qps.get(m.name, b[2])
        qb = batch_qps.get(m.name, float("nan"))
        lines.append(
            f"{m.name:<14}{b[0]!s:>9}{b[1]:>8.3f}{q1:>12.1f}{q1 / ref if ref else float('nan'):>9.2f}"
            f"{qb:>11.1f}{qb / bref if bref else float('nan'):>9.2f}{m.build_s:>9.1f}{m.rss:>8.0f}"
        )
    lines.append(
        f"{'exact numpy':<14}{'-':>9}{1.0:>8.3f}{exact_one:>12.1f}"
        f"{exact_one / ref if ref else float('nan'):>9.2f}{exact_batch:>11.1f}"
        f"{exact_batch / bref if bref else float('nan'):>9.2f}{'-':>9}{'-':>8}"
    )
    lines.append(
        f"plait Searcher.search end to end (defaults, {nq} queries): recall@{K} "
        f"{e2e_rec:.3f}, {e2e_qps:.1f} q/s ({e2e_qps / ref if ref else float('nan'):.2f}"
        " x hnsw32 one per call)"
    )
    print("\n" + "\n".join(lines), flush=True)
    hnsw.reset()
    ivf.reset()
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=512)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--sets", default="clustered,uniform")
    ap.add_argument("--target", type=float, default=0.95)
    ap.add_argument("--m", type=int, default=32)
    ap.add_argument(
        "--ef-construction",
        type=int,
        default=80,
        help="plait's build (FAISS HNSW32 keeps its own 40)",
    )
    ap.add_argument("--storage", default="flat", help="plait's HNSW storage: flat or sq8")
    ap.add_argument("--k-expansion", type=int, default=2)
    ap.add_argument(
        "--efs",
        default="16,24,32,48,64,96,128,192,256,384,512,768,1024,1536,2048,3072,4096,6144,8192,"
        "12288,16384,24576,32768",
        help="efSearch sweep (FAISS stops once slower than exact numpy)",
    )
    ap.add_argument(
        "--rounds", type=int, default=3, help="alternating re-timings at matched recall"
    )
    ap.add_argument("--workdir", default=None)
    args = ap.parse_args()
    args.efs = [int(x) for x in args.efs.split(",")]
    print(f"cores: {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}, pid {os.getpid()}")
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="plait-bench-index-"))
    workdir.mkdir(parents=True, exist_ok=True)
    out = []
    try:
        for kind in args.sets.split(","):
            out += run_set(kind, args, workdir) + [""]
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("\n==== summary ====\n" + "\n".join(out) + f"peak RSS of the run: {peak:.0f} MB")


if __name__ == "__main__":
    main()

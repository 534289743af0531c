"""Vector search: plait against FAISS HNSW at plait's own settings, hnswlib and usearch.

Each method is built from the same float32 unit vectors with the same graph
settings as ``plait index`` (M 32, efConstruction 80; ``--m``, ``--ef-construction``)
and compared at matched recall@10 (``--target``, 0.95): for each method the
smallest search knob (efSearch, ``ef``, ``expansion_search``) that reaches the
target, found on a grid and refined by bisection. The reference is FAISS
``IndexHNSWFlat`` built as a user would; every other method is re-timed
alternately with it (``--rounds``), so load on the machine hits both alike, and
its ratio comes from that pair.

Sets (``--sets``):

- ``clustered``: ``--n`` points of a Gaussian mixture around 1,000 centres, queries
  from the same mixture (the 1M x 512 set of the issue: ``--n 1000000``);
- ``uniform``: points spread evenly on the sphere (the hard case: graphs fail);
- ``flickr``: real vectors, the ``lit:flickr`` embeddings of every slot (image and
  caption) of Flickr8k: the index holds the train split's slots, the queries are
  the test split's (unseen) slots. The corpus is built once with plait's own
  ingest, align and embed (``--flickr-work``, reused by later runs).

plait is searched through ``plait.index.vector.nearest`` one query per call (what
``plait search`` calls: index file, unindexed-tail check, label -> sample id) and
``plait.index.ann.ann_search`` batched. One query per call runs every method on one
thread; batched runs give every method all cores. ``--variants`` adds plait
configurations that might put it ahead (e.g. ``sq8``: 8-bit graph walk with float
re-rank). Nothing is compared across runs.

Usage: ``python bench/index.py --n 50000`` (minutes); the issue's run is
``python bench/index.py --n 1000000 --sets clustered,flickr`` (~12 GB RAM, about 20
minutes on 2 quiet cores, most of it the four 1M graph builds; the ``flickr`` set adds an
ingest, align and embed unless ``--flickr-work`` names a corpus that has them).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from index_peers import K, Method, faiss_hnsw, hnswlib_index, plait_index, usearch_index

from plait.index.exact import exact_topk, recall_at_k
from plait.schema import embeddings_schema
from plait.vectors import l2_normalise


# -- vector sets ---------------------------------------------------------------------------------
def synthetic(kind: str, n: int, nq: int, dim: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    if kind == "uniform":
        base = rng.standard_normal((n, dim), dtype=np.float32)
        queries = rng.standard_normal((nq, dim), dtype=np.float32)
    else:
        centres = rng.standard_normal((1000, dim), dtype=np.float32)
        base = np.empty((n, dim), dtype=np.float32)
        for lo in range(0, n, 100_000):
            m = min(100_000, n - lo)
            base[lo : lo + m] = centres[rng.integers(0, 1000, m)]
            base[lo : lo + m] += 0.6 * rng.standard_normal((m, dim), dtype=np.float32)
        queries = centres[rng.integers(0, 1000, nq)] + 0.6 * rng.standard_normal(
            (nq, dim), dtype=np.float32
        )
    for lo in range(0, n, 100_000):
        base[lo : lo + 100_000] = l2_normalise(base[lo : lo + 100_000])
    return base, l2_normalise(queries)


def flickr_lit(work: Path, nq: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``lit:flickr`` vectors of every slot: train split as the base, test split as queries."""
    import lance

    data = Path(os.environ.get("PLAIT_SHARED_DATA", Path(__file__).parents[1] / "../shared/data"))
    data = data / "flickr8k"
    if not (work / "embeddings" / "lit_flickr.lance").is_dir():
        if not data.is_dir():
            raise SystemExit(f"flickr set: {data} is missing")
        plait = [sys.executable, "-m", "plait"]
        steps = [["init", str(work)]]
        for split in ("train", "test"):
            steps.append(
                ["ingest", str(work), str(data / f"{split}.tsv"), "--dataset", f"flickr8k-{split}"]
                + ["--licence", "research-only", "--image-root", str(data / "images")]
                + ["--no-progress"]
            )
        steps.append(
            ["align", str(work), "--name", "flickr", "--image", "effnet-lite0"]
            + ["--where", "source.dataset = 'flickr8k-train'"]
        )  # Lite0: the vectors this benchmark's figures were measured on, at a quarter the cost
        steps.append(["embed", str(work), "--encoder", "lit:flickr"])
        for step in steps:
            print("flickr set:", "plait", *step, flush=True)
            subprocess.run(plait + step, check=True, stdout=subprocess.DEVNULL)
    split = {
        r["id"]: r["source"]["dataset"]
        for r in lance.dataset(str(work / "samples.lance"))
        .to_table(columns=["id", "source"])
        .to_pylist()
    }
    emb = lance.dataset(str(work / "embeddings" / "lit_flickr.lance")).to_table(
        columns=["sample_id", "vector"]
    )
    dim = emb.schema.field("vector").type.list_size
    vecs = emb.column("vector").combine_chunks().flatten().to_numpy().reshape(-1, dim)
    test = np.array([split[s] == "flickr8k-test" for s in emb.column("sample_id").to_pylist()])
    queries = vecs[test]
    pick = np.random.default_rng(seed).choice(len(queries), min(nq, len(queries)), replace=False)
    return l2_normalise(vecs[~test]), l2_normalise(queries[np.sort(pick)])


def write_corpus(root: Path, vecs: np.ndarray) -> Any:
    """A plait corpus with one sample per vector and the embeddings table ``bench``."""
    import lance

    from plait.io.corpus import Corpus
    from plait.schema import Sample, Source, samples_table

    corpus = Corpus.init(root)
    n, dim = vecs.shape
    src = Source(uri="bench", dataset="bench", licence="CC0-1.0")
    for lo in range(0, n, 50_000):
        samples = [
            Sample(id=f"s{i}", kind="text", texts=[f"t{i}"], images=[None], source=src)
            for i in range(lo, min(n, lo + 50_000))
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
    lance.write_dataset(pa.RecordBatchReader.from_batches(sch, batches()), str(path), schema=sch)
    return corpus


# -- timing --------------------------------------------------------------------------------------
def per_call(search: Callable[[np.ndarray], list[int]], queries: np.ndarray) -> tuple[list, float]:
    search(queries[0])  # warm caches for this setting
    found = []
    t0 = time.perf_counter()
    for q in queries:
        found.append(search(q))
    return found, len(queries) / (time.perf_counter() - t0)


def batched(m: Method, queries: np.ndarray, threads: int) -> float:
    m.batch(queries[:8], threads)
    t0 = time.perf_counter()
    m.batch(queries, threads)
    return len(queries) / (time.perf_counter() - t0)


def measure(m: Method, knob: Any, queries: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    m.set_knob(knob)
    found, qps = per_call(m.one, queries)
    rec = recall_at_k(found, truth, K)
    m.rows.append((knob, rec, qps))
    print(f"  {m.name:<14} {knob!s:<8} recall@{K} {rec:.3f} {qps:9.1f} q/s", flush=True)
    return rec, qps


def matched_knob(
    m: Method, queries: np.ndarray, truth: np.ndarray, target: float, floor_qps: float
) -> Any:
    """The smallest integer knob reaching ``target``: the grid until it passes, then
    bisection between the last failing and the first passing setting. None when the
    method never reaches it, or only slower than an exact scan (``floor_qps``)."""
    lo = None
    for knob in m.knobs:
        rec, qps = measure(m, knob, queries, truth)
        if knob == "default":
            continue
        if rec >= target:
            hi = int(knob)
            break
        if qps < floor_qps:
            m.note += f" slower than exact from {knob} on"
            return None
        lo = int(knob)
    else:
        return None
    found = {r[0]: r[1] for r in m.rows}
    if lo is None:  # the first setting passes; below K every method searches K anyway
        return hi
    while hi - lo > max(1, int(0.04 * lo)):
        mid = (lo + hi) // 2
        rec = found[mid] if mid in found else measure(m, mid, queries, truth)[0]
        lo, hi = (lo, mid) if rec >= target else (mid, hi)
    return hi


# -- one set -------------------------------------------------------------------------------------
def run_set(name: str, vecs: np.ndarray, queries: np.ndarray, args: Any, work: Path) -> list[str]:
    import faiss

    threads = os.cpu_count() or 1
    faiss.omp_set_num_threads(1)
    n, dim = vecs.shape
    print(f"\n== {name}: {n:,} x {dim}, {len(queries)} queries ==", flush=True)
    t0 = time.perf_counter()
    truth, _ = exact_topk(vecs, queries, K)
    exact_batch = len(queries) / (time.perf_counter() - t0)

    def exact_one(q: np.ndarray) -> list[int]:  # vecs are already unit length
        s = vecs @ q
        top = np.argpartition(-s, K)[:K]
        return top[np.argsort(-s[top])].tolist()

    _, exact_qps = per_call(exact_one, queries[:50])
    print(f"exact numpy: {exact_qps:.1f} q/s one per call, {exact_batch:.1f} batched", flush=True)
    corpus = write_corpus(work / name, vecs)
    import lance

    ds = lance.dataset(str(corpus.embeddings_path("bench")))
    efs = [int(x) for x in args.efs.split(",")]
    base_cfg = {"m": args.m, "ef_construction": args.ef_construction}

    ref = faiss_hnsw(vecs, args.m, args.ef_construction, threads, efs)
    ref_knob = matched_knob(ref, queries, truth, args.target, exact_qps)
    ref.set_knob(ref_knob if ref_knob is not None else efs[-1])
    filters = [Filtered(f, vecs, queries, args.target, seed=7) for f in args.filters]
    for fl in filters:
        fl.run(ref, "ref")
    if filters:
        ref.set_knob(ref_knob if ref_knob is not None else efs[-1])

    builders: list[tuple[str, Callable[[], Method]]] = [
        ("plait", lambda: plait_index(ds, base_cfg, threads, efs)),
        ("hnswlib", lambda: hnswlib_index(vecs, args.m, args.ef_construction, threads, efs)),
        ("usearch", lambda: usearch_index(vecs, args.m, args.ef_construction, threads, efs)),
    ]
    for v in filter(None, args.variants.split(",")):
        if v.startswith("usearch-"):
            builders.append(
                (
                    v,
                    lambda v=v: usearch_index(
                        vecs, args.m, args.ef_construction, threads, efs, dtype=v.split("-")[1]
                    ),
                )
            )
        else:
            cfg = {**base_cfg, "storage": v}
            builders.append(
                (f"plait-{v}", lambda c=cfg, v=v: plait_index(ds, c, threads, efs, f"plait-{v}"))
            )

    results: list[dict[str, Any]] = []
    for _, build in builders:
        m = build()
        knob = matched_knob(m, queries, truth, args.target, exact_qps)
        row: dict[str, Any] = {"m": m, "knob": knob}
        if m.name.startswith("plait"):
            d = next(r for r in m.rows if r[0] == "default")
            row["default"] = d
        if knob is not None and ref_knob is not None:
            m.set_knob(knob)
            rec = next(r[1] for r in m.rows if r[0] == knob)
            one = {"ref": 0.0, "m": 0.0}
            bat = {"ref": 0.0, "m": 0.0}
            for _ in range(args.rounds):  # alternate, keep each side's best
                one["ref"] = max(one["ref"], per_call(ref.one, queries)[1])
                one["m"] = max(one["m"], per_call(m.one, queries)[1])
                bat["ref"] = max(bat["ref"], batched(ref, queries, threads))
                bat["m"] = max(bat["m"], batched(m, queries, threads))
            row.update(recall=rec, one=one, batch=bat)
            print(
                f"  {m.name} at {knob}: {one['m']:.0f} q/s one per call "
                f"({one['m'] / one['ref']:.2f} x faiss), {bat['m']:.0f} batched "
                f"({bat['m'] / bat['ref']:.2f} x)",
                flush=True,
            )
        if m.name == "plait":
            row["e2e"] = end_to_end(corpus, queries, truth, dim)
        for fl in filters:
            fl.run(m, m.name)
        m.free()
        results.append(row)

    ref_rec = next((r[1] for r in ref.rows if r[0] == ref_knob), float("nan"))
    ref_one = [r["one"]["ref"] for r in results if "one" in r]
    ref_bat = [r["batch"]["ref"] for r in results if "batch" in r]
    lines = [
        f"{name} N={n:,} dim {dim}: smallest knob with recall@{K} >= {args.target} "
        f"(M {args.m}, efConstruction {args.ef_construction} for every graph)",
        "q/s: the method's best of its rounds; x faiss: over FAISS's best in the same "
        "rounds, run alternately with it",
        f"{'method':<14}{'knob':>6}{'recall':>8}{'q/s 1/call':>12}{'x faiss':>8}"
        f"{'q/s batch':>11}{'x faiss':>8}{'build s':>9}{'RSS MB':>8}",
        f"{ref.name:<14}{ref_knob!s:>6}{ref_rec:>8.3f}{np.median(ref_one or [np.nan]):>12.1f}"
        f"{1.0:>8.2f}{np.median(ref_bat or [np.nan]):>11.1f}{1.0:>8.2f}{ref.build_s:>9.1f}"
        f"{ref.rss:>8.0f}",
    ]
    for r in results:
        m = r["m"]
        if "one" not in r:
            best = max(m.rows, key=lambda x: x[1])
            lines.append(
                f"{m.name:<14} never reaches {args.target} (best {best[1]:.3f} at {best[0]}){m.note}"
            )
            continue
        o, b = r["one"], r["batch"]
        lines.append(
            f"{m.name:<14}{r['knob']!s:>6}{r['recall']:>8.3f}{o['m']:>12.1f}{o['m'] / o['ref']:>8.2f}"
            f"{b['m']:>11.1f}{b['m'] / b['ref']:>8.2f}{m.build_s:>9.1f}{m.rss:>8.0f}"
        )
    ro = float(np.median(ref_one or [np.nan]))
    rb = float(np.median(ref_bat or [np.nan]))
    lines.append(
        f"{'exact numpy':<14}{'-':>6}{1.0:>8.3f}{exact_qps:>12.1f}{exact_qps / ro:>8.2f}"
        f"{exact_batch:>11.1f}{exact_batch / rb:>8.2f}{'-':>9}{'-':>8}"
    )
    for r in results:
        if "default" in r:
            _, rec, qps = r["default"]
            lines.append(
                f"{r['m'].name} at its calibrated default ({r['m'].note.strip()}): "
                f"recall@{K} {rec:.3f}, {qps:.1f} q/s one per call"
            )
        if "e2e" in r:
            rec, qps = r["e2e"]
            lines.append(
                f"plait Searcher.search end to end (defaults): recall@{K} {rec:.3f}, "
                f"{qps:.1f} q/s ({qps / ro:.2f} x faiss one per call)"
            )
    for fl in filters:
        lines += fl.table(ref.name)
    print("\n" + "\n".join(lines), flush=True)
    ref.free()
    return lines


class Filtered:
    """Search restricted to a random ``share`` of the rows (what a ``where`` filter does):
    each method's smallest knob reaching the recall target against the exact top-k of the
    allowed rows, timed one query per call. Methods without a filter are left out."""

    def __init__(
        self, share: float, vecs: np.ndarray, queries: np.ndarray, target: float, seed: int
    ) -> None:
        self.share, self.queries, self.target = share, queries, target
        self.mask = np.random.default_rng(seed).random(len(vecs)) < share
        rows = np.flatnonzero(self.mask)
        sub, _ = exact_topk(vecs[rows], queries, K)
        self.truth = rows[sub]
        sub_vecs = np.ascontiguousarray(vecs[rows])

        def scan(q: np.ndarray) -> list[int]:
            s = sub_vecs @ q
            top = np.argpartition(-s, K)[:K]
            return rows[top[np.argsort(-s[top])]].tolist()

        self.scan_qps = per_call(scan, queries[:50])[1]
        self.results: dict[str, tuple[Any, float, float] | None] = {}

    def run(self, m: Method, label: str) -> None:
        if m.make_filter is None or m.one_filtered is None:
            return
        flt = m.make_filter(self.mask)
        one = m.one_filtered
        probe = Method(
            f"{m.name}|{self.share:g}", m.knobs, m.set_knob, lambda q: one(q, flt), m.batch
        )
        knob = matched_knob(probe, self.queries, self.truth, self.target, 0.0)
        if knob is None:
            self.results[label] = None
            return
        m.set_knob(knob)
        rec = next(r[1] for r in probe.rows if r[0] == knob)
        self.results[label] = (knob, rec, per_call(probe.one, self.queries)[1])

    def table(self, ref_name: str) -> list[str]:
        ref = self.results.get("ref")
        out = [
            "",
            f"filtered: {self.share:.0%} of the rows allowed (a random id set), smallest knob "
            f"with recall@{K} >= {self.target} against the allowed rows' exact top {K}",
            f"{'method':<14}{'knob':>6}{'recall':>8}{'q/s 1/call':>12}{'x faiss':>8}",
        ]
        for label, got in self.results.items():
            name = ref_name if label == "ref" else label
            if got is None:
                out.append(f"{name:<14} never reaches {self.target}")
                continue
            knob, rec, qps = got
            ratio = qps / ref[2] if ref else float("nan")
            out.append(f"{name:<14}{knob!s:>6}{rec:>8.3f}{qps:>12.1f}{ratio:>8.2f}")
        ratio = self.scan_qps / ref[2] if ref else float("nan")
        out.append(f"{'scan of them':<14}{'-':>6}{1.0:>8.3f}{self.scan_qps:>12.1f}{ratio:>8.2f}")
        return out


def end_to_end(
    corpus: Any, queries: np.ndarray, truth: np.ndarray, dim: int
) -> tuple[float, float]:
    """``Searcher.search`` at plait's defaults (grouping, samples attached); the encoder
    is replaced by the query vectors."""
    from plait.retrieval import Query, Searcher

    class VectorsAsText:
        name, modalities = "bench", frozenset({"text"})

        def __init__(self) -> None:
            self.dim = dim

        def encode_text(self, texts: Any) -> np.ndarray:
            return queries[[int(t) for t in texts]]

        def encode_images(self, images: Any) -> np.ndarray:
            raise NotImplementedError

    searcher = Searcher(corpus, encoder=VectorsAsText())  # holds its own IndexCache
    nq = min(200, len(queries))
    searcher.search(Query(text="0"))
    t0 = time.perf_counter()
    found = [[int(h.sample_id[1:]) for h in searcher.search(Query(text=str(i)))] for i in range(nq)]
    return recall_at_k(found, truth[:nq], K), nq / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=512)
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--sets", default="clustered,flickr")
    ap.add_argument("--target", type=float, default=0.95)
    ap.add_argument("--m", type=int, default=32)
    ap.add_argument("--ef-construction", type=int, default=80)
    ap.add_argument(
        "--variants",
        default="",
        help="extra methods: plait storages (sq8, fp16), usearch-f16, usearch-i8",
    )
    ap.add_argument(
        "--efs",
        default="10,16,24,32,48,64,96,128,192,256,384,512,768,1024,1536,2048,3072,4096",
        help="search knob grid (a method stops once slower than exact numpy)",
    )
    ap.add_argument("--rounds", type=int, default=3, help="alternating timings per method")
    ap.add_argument(
        "--filters",
        default="0.02,0.3",
        help="shares of the rows a filtered search allows (empty: no filtered search)",
    )
    ap.add_argument("--workdir", default=None)
    ap.add_argument(
        "--flickr-work", default=os.path.join(tempfile.gettempdir(), "plait-bench-flickr")
    )
    args = ap.parse_args()
    args.filters = [float(x) for x in args.filters.split(",") if x]
    print(f"cores: {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}, pid {os.getpid()}")
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="plait-bench-index-"))
    workdir.mkdir(parents=True, exist_ok=True)
    out: list[str] = []
    try:
        for name in args.sets.split(","):
            if name == "flickr":
                vecs, queries = flickr_lit(Path(args.flickr_work), args.queries)
            else:
                vecs, queries = synthetic(name, args.n, args.queries, args.dim)
            out += run_set(name, vecs, queries, args, workdir) + [""]
            del vecs
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("\n==== summary ====\n" + "\n".join(out) + f"peak RSS of the run: {peak:.0f} MB")


if __name__ == "__main__":
    main()

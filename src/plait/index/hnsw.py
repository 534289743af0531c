"""The HNSW index file of one embeddings table: build, extend, load (faiss, in memory).

Lance stays the store of record; the index is a derived file next to the table,
so deleting it only costs speed. For ``CORPUS/embeddings/NAME.lance``:

- ``NAME.hnsw``: the faiss index (float HNSW, or HNSW over 8-bit or half-precision
  scalar-quantised vectors re-ranked with the float vectors it also keeps, or
  just the float vectors when a pilot build found a graph useless for the data);
- ``NAME.hnsw.rows.npz``: faiss label -> ``sample_id``, ``slot``, ``modality``;
- ``NAME.hnsw.json``: what the index covers (Lance version, row count, the
  fragments it read) and the ``ef`` calibrated at build. Written last, so its
  presence marks a complete index; its mtime keys the per-process cache.

Why faiss in memory instead of Lance's own index: a Lance vector query carries
~3 ms of fixed overhead, several times a whole HNSW search at 100k rows.
Why float storage by default: SQ8 quarters the memory read per distance, but
in ``bench/index.py`` on a loaded 2-core machine decoding the codes cost more
than it saved (SQ8 searches were ~3x slower than float at the same ef on
100k x 512 uniform). SQ8 stays an option for memory-bound machines.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from plait._deps import require
from plait.errors import ConfigError
from plait.io.store import local_file, location, write_file
from plait.vectors import l2_normalise

MODALITY_CODES = {"image": 0, "text": 1, "audio": 2, "video": 3}
STORAGES = ("sq8", "fp16", "flat")
FORMAT = 1


def faiss_module() -> Any:
    """faiss, or MissingDependencyError naming the ``index`` extra (a searcher's
    :class:`~plait.index.memory.IndexCache` imports it once)."""
    return require("faiss", "index", "the HNSW vector index", package="faiss-cpu")


def base_path(uri: str | Path) -> Any:
    """``.../NAME.lance`` -> ``.../NAME`` (the stem the index files share); a Path, or
    an ObjectPath beside a table on object storage."""
    p = location(str(uri).removeprefix("file://"))
    return p.with_suffix("") if p.suffix == ".lance" else p


@functools.lru_cache(maxsize=256)
def files(uri: str | Path) -> dict[str, Any]:
    """The index's files (cached: every query asks, and Path arithmetic is not free)."""
    b = base_path(uri)
    return {
        "index": b.with_name(b.name + ".hnsw"),
        "rows": b.with_name(b.name + ".hnsw.rows.npz"),
        "meta": b.with_name(b.name + ".hnsw.json"),
    }


def fingerprint(ds: Any) -> list[list[Any]]:
    """``[fragment id, physical rows, deleted rows, first data file]`` per fragment.

    Appends add fragments and leave these alone; a delete, update or
    compaction changes one, which tells the reader the labels no longer match
    row positions (the index is stale until ``plait index`` rebuilds it).
    """
    out = []
    for frag in ds.get_fragments():
        m = frag.metadata
        first = m.files[0].path if m.files else ""
        out.append([int(m.id), int(m.physical_rows), int(m.num_deletions), first])
    return out


@dataclass
class RowBatch:
    """Vectors and their row identity, read from Lance in scan order."""

    vectors: np.ndarray  # (n, dim) float32, L2-normalised
    sample_ids: Any  # pyarrow large_string array
    slots: np.ndarray  # int32
    modalities: np.ndarray  # int8, MODALITY_CODES
    _names: list[str] | None = None

    @property
    def names(self) -> list[str]:
        if self._names is None:
            self._names = self.sample_ids.to_pylist()
        return self._names

    def __len__(self) -> int:
        return len(self.slots)


def read_rows(ds: Any, fragments: list[Any] | None = None, batch_size: int = 65_536) -> Any:
    """Yield :class:`RowBatch` es of the table (or of ``fragments``), in scan order."""
    import pyarrow as pa
    import pyarrow.compute as pc

    dim = ds.schema.field("vector").type.list_size
    scanner = ds.scanner(
        columns=["sample_id", "slot", "modality", "vector"],
        fragments=fragments,
        scan_in_order=True,
        batch_size=batch_size,
    )
    for b in scanner.to_batches():
        if b.num_rows == 0:
            continue
        flat = b.column("vector").flatten().to_numpy(zero_copy_only=False)
        col = b.column("modality")
        mods = pc.equal(col, "text").to_numpy(zero_copy_only=False).astype(np.int8)
        mods += 2 * pc.equal(col, "audio").to_numpy(zero_copy_only=False).astype(np.int8)
        mods += 3 * pc.equal(col, "video").to_numpy(zero_copy_only=False).astype(np.int8)
        yield RowBatch(
            vectors=np.ascontiguousarray(
                l2_normalise(np.asarray(flat, np.float32).reshape(-1, dim))
            ),
            sample_ids=b.column("sample_id").cast(pa.large_string()),
            slots=b.column("slot").to_numpy(zero_copy_only=False).astype(np.int32),
            modalities=mods,  # MODALITY_CODES: 0 image, 1 text, 2 audio, 3 video
        )


@dataclass
class HnswIndex:
    """A loaded index: the faiss object, its float vectors, and label -> row identity."""

    index: Any  # None: no HNSW file, exact search over ``vectors`` in memory
    vectors: np.ndarray  # (n, dim) float32 view into the index's float storage
    sample_ids: Any  # pyarrow large_string array, one per label
    slots: np.ndarray
    modalities: np.ndarray
    meta: dict[str, Any]
    masks: dict[Any, Any] = field(default_factory=dict)  # label masks per modality, per id set
    _names: list[str] | None = None
    _ntotal: int | None = None

    @property
    def names(self) -> list[str]:
        """Sample ids as a Python list (built on first use: label -> id must cost nothing)."""
        if self._names is None:
            self._names = self.sample_ids.to_pylist()
        return self._names

    @property
    def ntotal(self) -> int:
        """Rows in the index (read once: a loaded index never changes, and every query asks)."""
        if self._ntotal is None:
            self._ntotal = len(self.slots) if self.index is None else int(self.index.ntotal)
        return self._ntotal


def new_index(dim: int, m: int, ef_construction: int, storage: str) -> Any:
    faiss = faiss_module()
    if storage not in STORAGES:
        raise ConfigError(f"HNSW storage {storage!r} is not one of {', '.join(STORAGES)}")
    ip = faiss.METRIC_INNER_PRODUCT
    if storage == "flat":
        idx = faiss.IndexHNSWFlat(dim, m, ip)
        idx.hnsw.efConstruction = ef_construction
        return idx
    # the graph walks 8-bit (a quarter of the float bytes) or half-precision codes (half);
    # the float vectors beside them re-rank the candidates and serve exact scans
    qtype = faiss.ScalarQuantizer.QT_8bit if storage == "sq8" else faiss.ScalarQuantizer.QT_fp16
    base = faiss.IndexHNSWSQ(dim, qtype, m, ip)
    base.hnsw.efConstruction = ef_construction
    return faiss.IndexRefineFlat(base)


def has_graph(index: Any) -> bool:
    """False for a flat index (the vectors of a table HNSW cannot serve; see ann.build)."""
    return not isinstance(index, faiss_module().IndexFlat)


def float_vectors(index: Any) -> np.ndarray:
    """The stored float vectors as a zero-copy (n, dim) view."""
    faiss = faiss_module()
    if isinstance(index, faiss.IndexFlat):
        flat = index
    elif isinstance(index, faiss.IndexRefine):
        flat = faiss.downcast_index(index.refine_index)
    else:
        flat = faiss.downcast_index(index.storage)
    n, d = int(flat.ntotal), int(flat.d)
    if n == 0:
        return np.zeros((0, d), np.float32)
    return faiss.rev_swig_ptr(flat.get_xb(), n * d).reshape(n, d)


def add_rows(index: Any, batches: Any, parts: dict[str, list[Any]], train: bool) -> None:
    """Add batches to ``index`` (training the quantiser on the first) and collect row identity."""
    for b in batches:
        if train and not index.is_trained:
            index.train(b.vectors)
        index.add(b.vectors)
        parts["ids"].append(b.sample_ids)
        parts["slots"].append(b.slots)
        parts["mods"].append(b.modalities)


def save(uri: str, idx: HnswIndex) -> None:
    """Write the three files; the JSON goes last, via rename, so readers never see half."""
    import pyarrow as pa

    faiss = faiss_module()
    f = files(uri)
    ids = idx.sample_ids
    if not isinstance(ids, pa.Array):
        ids = ids.combine_chunks()
    bufs = ids.buffers()
    off = np.frombuffer(bufs[1], np.int64, count=len(ids) + 1, offset=ids.offset * 8)
    data = np.frombuffer(bufs[2], np.uint8) if bufs[2] is not None else np.zeros(0, np.uint8)
    data = data[off[0] : off[-1]]

    def rows(name: str) -> None:
        with open(name, "wb") as fh:  # a file object: savez would add ".npz" to a name
            np.savez(
                fh, offsets=off - off[0], data=data, slots=idx.slots, modalities=idx.modalities
            )

    write_file(f["index"], lambda name: faiss.write_index(idx.index, name))
    write_file(f["rows"], rows)
    write_file(f["meta"], lambda name: Path(name).write_text(json.dumps(idx.meta, indent=2)))


def load(uri: str) -> HnswIndex | None:
    """The table's index read from its files, or None without one (a searcher keeps it:
    :meth:`plait.index.memory.IndexCache.hnsw_index`)."""
    import pyarrow as pa

    f = files(uri)
    if not f["meta"].is_file():
        return None
    faiss = faiss_module()
    meta = json.loads(f["meta"].read_text())
    # The vectors are memory-mapped, not copied: the processes of `plait serve --workers N`
    # then share one copy in the page cache. The files are only ever replaced whole
    # (write, then rename), so a mapping never sees a file change under it.
    # (on object storage: mapped from a local copy, downloaded once per version)
    with local_file(f["index"]) as name:
        index = faiss.read_index(name, getattr(faiss, "IO_FLAG_MMAP_IFC", 0))
    with local_file(f["rows"]) as name, np.load(name) as z:
        off, data = z["offsets"], z["data"]
        slots, mods = z["slots"], z["modalities"]
    n = len(slots)
    ids = pa.LargeStringArray.from_buffers(n, pa.py_buffer(off), pa.py_buffer(data))
    if int(index.ntotal) != n or meta.get("rows") != n:
        raise ConfigError(f"{f['index']} does not match its row map: run `plait index` again")
    vectors = float_vectors(index)
    if not vectors.flags.aligned and (meta.get("graph") is False or meta.get("exact")):
        # The mapped vectors start wherever faiss's file layout puts them; numpy hands an
        # unaligned array to its own loops instead of BLAS (a 20k x 384 scan: 36 ms, not
        # 2). An index searched by scans gets an aligned copy; a graph's float vectors are
        # read by faiss, which does not care, and stay shared.
        vectors = np.array(vectors)
    return HnswIndex(index, vectors, ids, slots, mods, meta)


def remove(uri: str) -> None:
    for p in files(uri).values():
        p.unlink(missing_ok=True)


def calibrate(
    idx: HnswIndex,
    target: float,
    k: int,
    k_expansion: int,
    n_queries: int = 200,
    seed: int = 0,
    filters: bool = True,
) -> dict[str, Any]:
    """The efSearch that reaches ``target`` recall@k, and whether exact search is faster.

    ``ef_search`` is the smallest on a 1.5x grid from 16. Queries must look
    unseen: a stored vector finds itself and its graph neighbours at once and
    would calibrate far too low. So each query is a stored vector pushed away
    along a random direction until its cosine to that vector is the median
    nearest-neighbour cosine of the stored vectors, i.e. it sits as far from its
    closest row as a fresh sample would. ``exact`` is True when a numpy scan of
    the float vectors answers one query faster than the graph at that ef, or the
    graph never reaches the target (uniform high-dimensional data: every point
    is about as far as every other, and HNSW degrades to a slow scan).
    ``bench/index.py`` measures recall on real held-out queries. With ``filters``, also
    ``filter_ef`` (:func:`calibrate_filters`).
    """
    import time

    from plait.index.exact import exact_topk, recall_at_k

    faiss = faiss_module()
    params: dict[tuple[bool, int, int], tuple[Any, Any]] = {}  # as a searcher keeps them
    n, dim = idx.vectors.shape
    if n <= k + 1:
        return {"ef_search": 16, "exact": True, "reached": True, "best_recall": 1.0}
    rng = np.random.default_rng(seed)
    base = np.ascontiguousarray(idx.vectors[rng.choice(n, min(n_queries, n), replace=False)])
    nn_sim = float(np.median(exact_topk(idx.vectors, base, 2)[1][:, 1]))
    t = float(np.sqrt(1.0 / max(nn_sim, 0.05) ** 2 - 1.0))
    noise = rng.standard_normal(base.shape).astype(np.float32)
    noise -= (noise * base).sum(axis=1, keepdims=True) * base  # orthogonal to the row
    qs = l2_normalise(base + t * l2_normalise(noise))
    truth = exact_topk(idx.vectors, qs, k)[0]
    ef, reached, best = 16.0, False, 0.0
    while ef < 4096:
        found = search_raw(faiss, idx.index, qs, k, int(ef), k_expansion, cache=params)[1]
        best = max(best, recall_at_k(found, truth, k))
        if best >= target:
            reached = True
            break
        ef *= 1.5
    out: dict[str, Any] = {"reached": reached, "best_recall": round(best, 4)}
    if not reached:
        return {"ef_search": int(ef), "exact": True, **out}
    few = qs[:20]
    t0 = time.perf_counter()
    for q in few:
        search_raw(faiss, idx.index, q[None, :], k, int(ef), k_expansion, cache=params)
    t_graph = time.perf_counter() - t0
    t0 = time.perf_counter()
    for q in few:
        s = idx.vectors @ q
        np.argpartition(-s, k)[:k]
    t_exact = time.perf_counter() - t0
    out.update(ef_search=int(ef), exact=t_exact < t_graph)
    if filters:
        out["filter_ef"] = calibrate_filters(idx, qs, int(ef), target, k, k_expansion, rng)
    return out


FILTER_SHARES = (0.5, 0.2, 0.1, 0.05, 0.02, 0.01)
FILTER_MAX = 8.0  # the widest filtered walk, as a multiple of ef


def calibrate_filters(
    idx: HnswIndex,
    qs: np.ndarray,
    ef: int,
    target: float,
    k: int,
    k_expansion: int,
    rng: np.random.Generator,
) -> list[list[float | None]]:
    """``[share, multiplier]`` pairs: how much wider than ``ef`` a walk must be to reach
    ``target`` when a random ``share`` of the rows is allowed (None: not within
    ``FILTER_MAX``; smaller shares are not tried after that).

    faiss's filtered walk keeps ``ef`` candidates, allowed or not, so how much a filter
    costs depends on the data: at 1M x 512 clustered the unfiltered ef held its recall
    down to 2% allowed and collapsed at 1%, at 100k it needed 5x at 10%, on Flickr8k
    ``lit:`` vectors about ``sqrt(1 / share)`` throughout (``bench/index.py --filters``).
    Shares where even the unfiltered walk would visit more rows than the filter keeps
    (a scan answers those) are skipped.
    """
    from plait.index.exact import exact_topk, recall_at_k

    faiss = faiss_module()
    n = int(idx.ntotal)
    m = int(idx.meta.get("m") or 32)
    curve: list[list[float | None]] = []
    for share in FILTER_SHARES:
        mask = rng.random(n) < share
        rows = np.flatnonzero(mask)
        if len(rows) <= 2 * m * ef:
            break
        truth = rows[exact_topk(np.ascontiguousarray(idx.vectors[rows]), qs, k)[0]]
        bits = np.packbits(mask, bitorder="little")
        sel = faiss.IDSelectorBitmap(n, faiss.swig_ptr(bits))
        mult: float | None = 1.0
        while mult is not None:
            found = search_raw(faiss, idx.index, qs, k, int(ef * mult), k_expansion, sel)[1]
            if recall_at_k(found, truth, k) >= target:
                break
            mult = mult * 1.5 if mult * 1.5 <= FILTER_MAX else None
        curve.append([share, None if mult is None else round(mult, 3)])
        if mult is None:
            break
    return curve


ParamsCache = dict[tuple[bool, int, int], tuple[Any, Any]]


def search_params(
    faiss: Any,
    index: Any,
    ef: int,
    k_expansion: int,
    sel: Any = None,
    cache: ParamsCache | None = None,
) -> Any:
    """faiss search parameters; without a selector they are kept in ``cache`` (building
    them per query costs as much as a small search). Returns the object to pass and the
    HNSW part, which the caller must keep alive while searching."""
    refine = isinstance(index, faiss.IndexRefine)
    key = (refine, int(ef), int(k_expansion))
    if sel is None and cache is not None and key in cache:
        return cache[key]
    hp = faiss.SearchParametersHNSW()
    hp.efSearch = int(ef)
    if sel is not None:
        hp.sel = sel
    out: tuple[Any, Any] = (hp, hp)
    if refine:
        p = faiss.IndexRefineSearchParameters()
        p.k_factor = float(max(1, k_expansion))
        p.base_index_params = hp
        out = (p, hp)
    if sel is None and cache is not None:
        if len(cache) > 1024:
            cache.clear()
        cache[key] = out
    return out


def search_raw(
    faiss: Any,
    index: Any,
    qs: np.ndarray,
    k: int,
    ef: int,
    k_expansion: int,
    sel: Any = None,
    cache: ParamsCache | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``(similarities, labels)`` of the ``k`` best per query. A re-ranked (SQ8) index
    walks at least ``k * k_expansion`` candidates, a float one at least ``k``."""
    floor = k * max(1, k_expansion) if isinstance(index, faiss.IndexRefine) else k
    params, _keep = search_params(faiss, index, max(ef, floor), k_expansion, sel, cache)
    return index.search(qs, k, params=params)

"""Approximate vector search over one embeddings table: the HNSW file plus an exact tail.

``plait index`` builds (or extends) ``NAME.hnsw`` (:mod:`plait.index.hnsw`).
A query loads it once per process, searches it, and maps faiss labels back to
``(sample_id, slot)``. Rows appended to the Lance table since the build (new
fragments: the *unindexed tail*) are read once per Lance version and searched
exactly with numpy, then merged, so new samples are found before any
re-index. A table changed in other ways (delete, compaction, rewrite) makes
the index *stale*: :func:`ann_search` returns None and the caller falls back
to Lance's exact path until ``plait index`` rebuilds.

When calibration at build found a numpy scan of the index's float vectors
faster than the graph at the ef that meets the recall target (or the graph
never meets it), queries scan instead; an explicit ``ef`` forces the graph.

Filters run inside the search: ``modality`` and ``allowed`` (a set of sample
ids) become a label mask, answered either by an exact scan of the allowed rows'
float vectors or by the graph walk with the mask as faiss's ID selector, whichever
:func:`filtered_walk` expects to cost less (see there for the measurements).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from plait.index import hnsw
from plait.index.config import VectorIndexConfig
from plait.index.memory import IndexCache, tail_fragments
from plait.index.scans import topk
from plait.io.store import local_file
from plait.vectors import l2_normalise

if TYPE_CHECKING:
    from lance import LanceDataset

Row = dict[str, Any]  # sample_id, slot, modality, similarity
log = logging.getLogger(__name__)


# -- build ---------------------------------------------------------------------------------------
PILOT_ROWS = 100_000  # tables of at least twice this many rows get a pilot check


def build(ds: LanceDataset, config: VectorIndexConfig) -> hnsw.HnswIndex:
    """Train, fill, calibrate and save the index of the whole table.

    A large table is first indexed up to ``PILOT_ROWS`` rows and calibrated. When
    the graph cannot reach the recall target there, or only by touching about as
    many vectors as a scan (uniform high-dimensional data, where every point is
    about as far as every other), it cannot do better at the full size, since the
    ef a target needs only grows as rows are added: the build stops growing a graph
    that queries would never use and stores the float vectors for an exact scan
    instead (at 1M x 512 uniform, minutes instead of half an hour). Otherwise the
    pilot rows stay in the graph and the build goes on.
    """
    dim = ds.schema.field("vector").type.list_size
    n = ds.count_rows()
    storage = config.storage or "flat"
    index = hnsw.new_index(dim, config.m, config.ef_construction, storage)
    if not index.is_trained:  # SQ8: per-dimension ranges from a random sample
        pick = np.sort(np.random.default_rng(0).choice(n, min(n, 65_536), replace=False))
        tbl = ds.take(pick.tolist(), columns=["vector"])
        flat = tbl.column("vector").combine_chunks().flatten().to_numpy(zero_copy_only=False)
        index.train(l2_normalise(np.asarray(flat, np.float32).reshape(-1, dim)))
    parts: dict[str, list[Any]] = {"ids": [], "slots": [], "mods": []}
    fp = hnsw.fingerprint(ds)
    batches = hnsw.read_rows(ds)
    pilot: dict[str, Any] | None = None
    if n >= 2 * PILOT_ROWS:
        hnsw.add_rows(index, _first_rows(batches, PILOT_ROWS), parts, train=False)
        cal = hnsw.calibrate(
            _assemble(index, parts, None),
            config.target_recall,
            10,
            config.k_expansion,
            filters=False,
        )
        pilot = {"rows": int(index.ntotal), **cal}
        if _graph_useless(cal, config.m, pilot["rows"]):
            log.info(
                "%s: on a %d-row pilot HNSW needs ef %d for recall %.2f (reached: %s): "
                "storing vectors for exact search instead of a graph",
                ds.uri,
                pilot["rows"],
                cal["ef_search"],
                config.target_recall,
                cal["reached"],
            )
            index = _flat_copy(index, dim)
    hnsw.add_rows(index, batches, parts, train=False)
    idx = _assemble(index, parts, None)
    idx.meta = {
        "format": hnsw.FORMAT,
        "version": int(ds.version),
        "rows": idx.ntotal,
        "dim": dim,
        "metric": "inner_product",
        "m": config.m,
        "ef_construction": config.ef_construction,
        "storage": storage,
        "fragments": fp,
    }
    if pilot is not None:
        idx.meta["pilot"] = pilot
    if hnsw.has_graph(index):
        idx.meta.update(hnsw.calibrate(idx, config.target_recall, 10, config.k_expansion))
    else:
        idx.meta.update(graph=False, exact=True, ef_search=None)
    hnsw.save(ds.uri, idx)
    return idx


def _graph_useless(cal: dict[str, Any], m: int, rows: int) -> bool:
    """Whether the pilot's calibration rules the graph out for the full table.

    A walk at efSearch ``ef`` computes about ``ef * m`` distances, each a random
    memory access where a scan streams: at half a scan's count it is already no
    faster, and the ef a recall target needs only grows with the rows. (At 100k x 512
    uniform, HNSW32 needs ef 3113 for 0.95: ~100k distances, a whole scan; clustered
    data needs ef 16-48 there.)
    """
    return not cal["reached"] or 2 * cal["ef_search"] * m >= rows


def _first_rows(batches: Any, n: int) -> Any:
    """Take batches from the iterator ``batches`` until ``n`` rows were taken (the rest stay)."""
    taken = 0
    while taken < n:
        b = next(batches, None)
        if b is None:
            return
        taken += len(b)
        yield b


def _flat_copy(index: Any, dim: int) -> Any:
    """A flat (exact) faiss index holding the float vectors of ``index``."""
    flat = hnsw.faiss_module().IndexFlatIP(dim)
    vecs = hnsw.float_vectors(index)
    if len(vecs):
        flat.add(np.ascontiguousarray(vecs))
    return flat


def extend(ds: LanceDataset, idx: hnsw.HnswIndex, fragments: list[Any]) -> hnsw.HnswIndex:
    """Add the rows of new fragments to the graph (HNSW needs no retraining) and save."""
    fp = hnsw.fingerprint(ds)
    parts: dict[str, list[Any]] = {"ids": [idx.sample_ids], "slots": [idx.slots], "mods": []}
    parts["mods"].append(idx.modalities)
    with local_file(hnsw.files(ds.uri)["index"]) as name:
        index = hnsw.faiss_module().read_index(name)  # a private copy
    hnsw.add_rows(index, hnsw.read_rows(ds, fragments), parts, train=False)
    new = _assemble(index, parts, {**idx.meta, "version": int(ds.version), "fragments": fp})
    new.meta["rows"] = new.ntotal
    hnsw.save(ds.uri, new)
    return new


def _assemble(index: Any, parts: dict[str, list[Any]], meta: dict[str, Any] | None) -> Any:
    import pyarrow as pa

    ids = pa.concat_arrays(parts["ids"]) if parts["ids"] else pa.array([], pa.large_string())
    slots = np.concatenate(parts["slots"]) if parts["slots"] else np.zeros(0, np.int32)
    mods = np.concatenate(parts["mods"]) if parts["mods"] else np.zeros(0, np.int8)
    return hnsw.HnswIndex(index, hnsw.float_vectors(index), ids, slots, mods, meta or {})


def ensure(ds: LanceDataset, config: VectorIndexConfig) -> str:
    """Build, extend, rebuild or leave alone the table's HNSW file; returns what was done."""
    idx = hnsw.load(ds.uri)
    if idx is None:
        rows = ds.count_rows()
        if rows == 0 or rows < config.threshold:
            return "exact"
        build(ds, config)
        return "built"
    tail = tail_fragments(ds, idx)
    if tail is None or config.storage not in (None, idx.meta.get("storage")):
        build(ds, config)
        return "rebuilt"
    if not tail:
        return "up-to-date"
    extend(ds, idx, tail)
    return "extended"


# -- search ------------------------------------------------------------------------------------
@dataclass
class _Filter:
    modality: str | None
    exclude: str | None
    allowed: set[str] | None

    def mask(self, ids: Any, mods: np.ndarray, cache: dict[Any, Any] | None) -> Any:
        """Boolean mask over rows, or None when every row passes (``exclude`` not included)."""
        mask: np.ndarray | None = None
        if self.modality is not None:
            key = f"modality={self.modality}"
            if cache is not None and key in cache:
                mask = cache[key]
            else:
                m = mods == hnsw.MODALITY_CODES[self.modality]
                mask = None if cache is not None and m.all() else m
                if cache is not None:
                    cache[key] = mask
        if self.allowed is not None:
            mask = _allowed_mask(ids, self.allowed, mask, self.modality, cache)
        return mask


def _allowed_mask(
    ids: Any, allowed: set[str], base: Any, tag: Any, cache: dict[Any, Any] | None
) -> np.ndarray:
    """Rows whose sample id is in ``allowed`` (and in ``base``, the modality's rows). A
    where filter's id set is one object for as long as its table version lasts
    (``Snapshot.allowed``), and matching a million ids against it costs tens of
    milliseconds, so the mask is kept per set object: the entry holds the set, so its
    ``id`` cannot be reused while the entry lives."""
    import pyarrow as pa
    import pyarrow.compute as pc

    key = ("allowed", id(allowed), tag)
    got = cache.get(key) if cache is not None else None
    if got is not None and got[0] is allowed and got[1] == len(allowed):
        return got[2]
    value_set = pa.array(list(allowed), pa.large_string())
    mask = pc.is_in(ids, value_set=value_set).to_numpy(zero_copy_only=False)
    if base is not None:
        mask = mask & base
    if cache is not None:
        held = [k for k in cache if isinstance(k, tuple) and k[0] == "allowed"]
        for k in held[: max(0, len(held) - 15)]:
            del cache[k]  # a few filters at a time
        cache[key] = (allowed, len(allowed), mask)
    return mask


def _exact(vectors: np.ndarray, rows: np.ndarray | None, qs: np.ndarray, k: int) -> Any:
    """Exact top-k over ``vectors`` (or its ``rows``), as labels into ``vectors``."""
    sub = vectors if rows is None else vectors[rows]
    pos, sims = topk(qs @ sub.T, k)
    return (pos if rows is None else rows[pos]), sims


def _search_index(
    idx: hnsw.HnswIndex,
    qs: np.ndarray,
    k: int,
    flt: _Filter,
    config: VectorIndexConfig,
    cache: IndexCache,
) -> tuple[np.ndarray, np.ndarray]:
    n = idx.ntotal
    mask = flt.mask(idx.sample_ids, idx.modalities, idx.masks)
    ef = int(config.ef or idx.meta.get("ef_search") or 64)
    if (
        idx.index is None
        or idx.meta.get("graph") is False
        or (config.ef is None and idx.meta.get("exact"))
    ):
        # no HNSW file (a small table), no graph (the pilot found it useless), or
        # calibration found a scan faster
        if mask is None:
            return cache.scans.topk(idx.vectors, qs, k)
        rows, sub = _subset(idx, mask)  # gathered once per mask, not once per query
        pos, sims = cache.scans.topk(sub, qs, k)
        return rows[pos], sims
    faiss = cache.faiss
    if mask is None:
        sims, labels = hnsw.search_raw(
            faiss, idx.index, qs, k, ef, config.k_expansion, cache=cache.params
        )
        return labels, sims
    keep = int(mask.sum())
    if keep == 0:
        return np.full((len(qs), 0), -1, np.int64), np.zeros((len(qs), 0), np.float32)
    walk_ef = filtered_walk(n, keep, idx.vectors.shape[1], ef, config, idx.meta.get("filter_ef"))
    if walk_ef is None:
        rows, sub = _subset(idx, mask)
        pos, sims = cache.scans.topk(sub, qs, k)
        return rows[pos], sims
    bits = np.packbits(mask, bitorder="little")
    sel = faiss.IDSelectorBitmap(n, faiss.swig_ptr(bits))
    sims, labels = hnsw.search_raw(faiss, idx.index, qs, k, walk_ef, config.k_expansion, sel)
    return labels, sims


def filtered_walk(
    n: int,
    keep: int,
    dim: int,
    ef: int,
    config: VectorIndexConfig,
    curve: list[list[float | None]] | None = None,
) -> int | None:
    """The ef of a graph walk for a filter keeping ``keep`` of ``n`` rows, or None when an
    exact scan of those rows should answer it.

    faiss's filtered walk keeps ``ef`` candidates, allowed or not, so a filter that removes
    most rows leaves few allowed ones among them and recall falls unless ``ef`` grows; by
    how much depends on the data, so the build measures it (``curve``: the multiplier
    reaching the recall target at each of a few shares, :func:`hnsw.calibrate_filters`).
    A share between two measured ones takes the smaller share's multiplier; one below
    them all grows the smallest's by ``(share_measured / share) ** 0.6`` (past
    ``FILTER_MAX``: a scan); an index built before that measurement uses ``(n / keep) **
    0.6``, capped at ``FILTER_MAX`` (on Flickr8k ``lit:`` vectors the
    ef reaching the unfiltered recall grew about as the square root). A walk costs about
    ``2 m`` distances per ef (each visited node's layer-0 edges), a scan ``keep``; a scan
    under ``config.scan_work`` multiply-adds (rows x dim) is exact and well under a
    millisecond, so it is taken outright. Measurements: ``bench/index.py --filters`` and
    the README's index section.
    """
    if keep * dim <= config.scan_work:
        return None
    share = keep / n
    mult: float | None = min(hnsw.FILTER_MAX, (n / keep) ** 0.6)
    if curve:
        points = sorted((float(s or 0.0), m) for s, m in curve)  # by share, ascending
        below = [p for p in points if p[0] <= share]
        measured, mult = below[-1] if below else points[0]
        if mult is not None and not below:
            mult *= (measured / share) ** 0.6
    if mult is None or mult > hnsw.FILTER_MAX:
        return None
    walk = int(ef * mult)
    return walk if 2 * config.m * walk < keep else None


SUBSET_BYTES = 256 << 20  # gathered vectors of narrow filters kept, in all


def _subset(idx: hnsw.HnswIndex, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows a narrow filter keeps and their vectors, gathered into one contiguous
    matrix once per mask (a mask is one object per filter: see :func:`_allowed_mask`);
    scanning it costs a matrix product, where gathering first cost as much again."""
    key = ("subset", id(mask))
    got = idx.masks.get(key)
    if got is not None and got[0] is mask:
        return got[1], got[2]
    rows = np.flatnonzero(mask)
    sub = np.ascontiguousarray(idx.vectors[rows])
    held = [k for k in idx.masks if isinstance(k, tuple) and k[0] == "subset"]
    while held and sum(idx.masks[k][2].nbytes for k in held) + sub.nbytes > SUBSET_BYTES:
        del idx.masks[held.pop(0)]
    if sub.nbytes <= SUBSET_BYTES:
        idx.masks[key] = (mask, rows, sub)
    return rows, sub


def _rows(src: Any, labels: np.ndarray, sims: np.ndarray) -> list[Row]:
    """Rows for one query's labels (-1: no result) from an index or a tail."""
    names, slots, mods = src.names, src.slots, src.modalities
    kinds = ("image", "text", "audio", "video")  # hnsw.MODALITY_CODES
    return [
        {
            "sample_id": names[i],
            "slot": int(slots[i]),
            "modality": kinds[mods[i]],
            "similarity": s,
        }
        for i, s in zip(labels.tolist(), sims.tolist(), strict=True)
        if i >= 0
    ]


def _unit_rows(queries: Any) -> np.ndarray:
    """Queries as contiguous unit-length float32 rows (search already sends unit vectors,
    so the common case only checks)."""
    qs = np.asarray(queries, dtype=np.float32)
    if qs.ndim == 1:
        qs = qs[None]
    norms = np.sqrt(np.einsum("ij,ij->i", qs, qs))
    if np.all(np.abs(norms - 1.0) < 1e-5):
        return np.ascontiguousarray(qs)
    return np.ascontiguousarray(qs / np.where(norms == 0, 1.0, norms)[:, None])


def ann_search(
    ds: LanceDataset,
    queries: np.ndarray,
    k: int,
    *,
    modality: str | None = None,
    exclude: str | None = None,
    allowed: set[str] | None = None,
    config: VectorIndexConfig,
    cache: IndexCache | None = None,
) -> list[list[Row]] | None:
    """The ``k`` best rows per query (index plus tail), or None without a usable index.

    ``allowed`` restricts the sample ids, ``modality`` the slots' modality, and
    ``exclude`` drops one sample (a more-like-this query's own). Rows carry
    ``sample_id``, ``slot``, ``modality`` and ``similarity`` (cosine), best first.
    ``cache`` keeps the index and its tail in memory for the next query (a Searcher's).
    """
    cache = cache if cache is not None else IndexCache()
    held = cache.in_memory(ds)
    if held is None:
        return None
    idx, tail = held
    qs = _unit_rows(queries)
    flt = _Filter(modality, exclude, allowed)
    extra = 0 if exclude is None else 16
    while True:
        labels, sims = _search_index(idx, qs, k + extra, flt, config, cache)
        out = [_rows(idx, lb, sm) for lb, sm in zip(labels, sims, strict=True)]
        if tail is not None:
            tmask = flt.mask(tail.sample_ids, tail.modalities, None)
            trows = None if tmask is None else np.flatnonzero(tmask)
            tl, ts = _exact(tail.vectors, trows, qs, k + extra)
            for i, (lb, sm) in enumerate(zip(tl, ts, strict=True)):
                out[i] = sorted(
                    out[i] + _rows(tail, lb, sm),
                    key=lambda r: -r["similarity"],
                )
        if exclude is None:
            return [r[:k] for r in out]
        full = [len(r) for r in out]
        out = [[row for row in r if row["sample_id"] != exclude] for r in out]
        if (
            all(len(r) >= k or f < k + extra for r, f in zip(out, full, strict=True))
            or extra >= idx.ntotal
        ):
            return [r[:k] for r in out]
        extra *= 4

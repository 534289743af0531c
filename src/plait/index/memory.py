"""What the vector path keeps in memory between queries, held by one owner.

A :class:`IndexCache` belongs to whoever runs many queries over the same tables (a
:class:`plait.retrieval.Searcher`, so a server's corpus or an evaluation); nothing is
kept at module level, so two searchers never share or clear each other's state, and a
one-off query (``cache=None`` everywhere) keeps nothing. It holds, per table:

- the loaded HNSW file (:mod:`plait.index.hnsw`), reloaded when its JSON changes;
- the *unindexed tail*: rows appended since the build, read once per Lance version;
- a table without an HNSW file, held whole for exact search (once per version);
- sample id -> row positions of each of those (more-like-this queries);
- the Lance index statistics per version (reading them costs more than a small search);
- faiss search parameters per (ef, re-rank factor): building them costs a small search;
- the exact scans running now, so concurrent queries on one matrix share one product.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from plait.index import hnsw
from plait.index.scans import SharedScans
from plait.io.store import is_remote

if TYPE_CHECKING:
    from lance import LanceDataset

log = logging.getLogger(__name__)

INDEX_NAME = "vector_idx"  # Lance's vector index in the table (backend "lance")
STALE = "stale"
EXACT_MAX_BYTES = 1 << 30  # larger tables without an HNSW file are left to Lance


def lance_index_state(ds: LanceDataset) -> dict[str, Any] | None:
    """Name, type, partitions and indexed/unindexed row counts of the table's Lance vector
    index, or None without one."""
    if not any(i.name == INDEX_NAME for i in ds.describe_indices()):
        return None
    st = ds.stats.index_stats(INDEX_NAME)
    parts = st["indices"][0].get("num_partitions", 1) if st.get("indices") else 1
    return {
        "name": INDEX_NAME,
        "type": st.get("index_type"),
        "partitions": parts,
        "indexed_rows": st.get("num_indexed_rows", 0),
        "unindexed_rows": st.get("num_unindexed_rows", 0),
    }


def tail_fragments(ds: LanceDataset, idx: hnsw.HnswIndex) -> list[Any] | None:
    """Fragments added since the build, or None when the indexed ones changed (stale)."""
    built = {f[0]: f for f in idx.meta["fragments"]}
    seen, tail = set(), []
    for frag, fp in zip(ds.get_fragments(), hnsw.fingerprint(ds), strict=True):
        if fp[0] in built:
            if fp != built[fp[0]]:
                return None
            seen.add(fp[0])
        else:
            tail.append(frag)
    return tail if seen == built.keys() else None


def concat_rows(batches: list[hnsw.RowBatch], dim: int) -> hnsw.RowBatch | None:
    """One :class:`~plait.index.hnsw.RowBatch` of many (None for none)."""
    import pyarrow as pa

    if not batches:
        return None
    return hnsw.RowBatch(
        np.concatenate([b.vectors for b in batches]).reshape(-1, dim),
        pa.concat_arrays([b.sample_ids for b in batches]),
        np.concatenate([b.slots for b in batches]),
        np.concatenate([b.modalities for b in batches]),
    )


class IndexCache:
    """The in-memory state of the vector path for one owner; see the module docstring.

    Every map is bounded: when one grows past its limit it is cleared (the tables a
    searcher uses are few; a long-lived server that opened many just reloads)."""

    def __init__(self) -> None:
        self._hnsw: dict[str, tuple[int, hnsw.HnswIndex]] = {}
        self._checked: dict[str, float] = {}  # when an index's stamp was last read
        self._states: dict[tuple[str, int], dict[str, Any] | None] = {}
        self._tails: dict[tuple[str, int, int, int], hnsw.RowBatch | str | None] = {}
        self._exact: dict[tuple[str, int], hnsw.HnswIndex | None] = {}
        self._positions: dict[int, tuple[Any, dict[str, list[int]]]] = {}
        self.params: dict[tuple[bool, int, int], tuple[Any, Any]] = {}  # hnsw.search_params
        self._faiss: Any = None
        self.scans = SharedScans()  # concurrent exact scans of one matrix share its read

    @property
    def faiss(self) -> Any:
        """The faiss module, imported (and checked) once: every query asks."""
        if self._faiss is None:
            self._faiss = hnsw.faiss_module()
        return self._faiss

    def hnsw_index(self, uri: str) -> hnsw.HnswIndex | None:
        """The table's HNSW index, or None without one; reloaded when its JSON changes."""
        meta = hnsw.files(uri)["meta"]
        key = str(meta)
        hit = self._hnsw.get(key)
        now = time.monotonic()
        if hit is not None and is_remote(meta) and now - self._checked.get(key, 0.0) < 1.0:
            return hit[1]  # on object storage the stamp costs a request: once a second
        self._checked[key] = now
        try:
            stamp = meta.stat().st_mtime_ns
        except FileNotFoundError:
            self._hnsw.pop(key, None)
            return None
        if hit is not None and hit[0] == stamp:
            return hit[1]
        idx = hnsw.load(uri)
        if idx is not None:
            _bounded(self._hnsw, 64)
            self._hnsw[key] = (stamp, idx)
        return idx

    def lance_state(self, ds: LanceDataset) -> dict[str, Any] | None:
        """:func:`lance_index_state`, once per (table, version): a version never changes."""
        key = (str(ds.uri), int(ds.version))
        if key not in self._states:
            _bounded(self._states, 256)
            self._states[key] = lance_index_state(ds)
        return self._states[key]

    def tail(self, ds: LanceDataset, idx: hnsw.HnswIndex) -> hnsw.RowBatch | str | None:
        """The unindexed rows (None if there are none, ``"stale"``), once per Lance version."""
        key = (str(ds.uri), int(ds.version), int(idx.meta["version"]), idx.ntotal)
        if key not in self._tails:
            _bounded(self._tails, 64)
            frags = tail_fragments(ds, idx)
            if frags is None:
                log.warning(
                    "%s changed since its HNSW index was built (delete or compaction): "
                    "searching it exactly until `plait index` rebuilds the index",
                    ds.uri,
                )
                self._tails[key] = STALE
            elif not frags:
                self._tails[key] = None
            else:
                rows = list(hnsw.read_rows(ds, frags))
                self._tails[key] = concat_rows(rows, idx.vectors.shape[1])
        return self._tails[key]

    def exact(self, ds: LanceDataset) -> hnsw.HnswIndex | None:
        """A table without an HNSW file, held in memory for exact search (once per version).

        Tables under the index threshold are searched exactly; a numpy product over vectors
        in memory costs a fraction of a Lance scan per query. None when the table has a
        Lance vector index or its vectors would take more than ``EXACT_MAX_BYTES``: Lance
        answers.
        """
        key = (str(ds.uri), int(ds.version))
        if key not in self._exact:
            dim = ds.schema.field("vector").type.list_size
            lance_index = any("vector" in i.get("fields", ()) for i in ds.list_indices())
            if lance_index or ds.count_rows() * dim * 4 > EXACT_MAX_BYTES:
                return None  # Lance's own index (backend "lance"), or too big: Lance answers
            _bounded(self._exact, 16)
            rows = concat_rows(list(hnsw.read_rows(ds)), dim)
            self._exact[key] = (
                None
                if rows is None
                else hnsw.HnswIndex(
                    None,
                    rows.vectors,
                    rows.sample_ids,
                    rows.slots,
                    rows.modalities,
                    {"exact": True},
                )
            )
        return self._exact[key]

    def in_memory(self, ds: LanceDataset) -> tuple[hnsw.HnswIndex, hnsw.RowBatch | None] | None:
        """The table's rows held in memory: its HNSW index and unindexed tail, or (no HNSW
        file) the whole table for exact search; None when Lance must answer (a stale index,
        a Lance vector index, or a table too big to hold)."""
        idx = self.hnsw_index(ds.uri)
        if idx is None:
            exact = self.exact(ds)
            return None if exact is None else (exact, None)
        tail = self.tail(ds, idx)
        return None if isinstance(tail, str) else (idx, tail)

    def positions(self, src: hnsw.HnswIndex | hnsw.RowBatch) -> dict[str, list[int]]:
        """Sample id -> row positions of an index or tail (built once per loaded object)."""
        got = self._positions.get(id(src))
        if got is None or got[0] is not src:
            pos: dict[str, list[int]] = {}
            for i, name in enumerate(src.names):
                pos.setdefault(name, []).append(i)
            _bounded(self._positions, 16)
            got = self._positions[id(src)] = (src, pos)
        return got[1]

    def stored_vectors(
        self, ds: LanceDataset, sample_id: str, modality: str | None
    ) -> np.ndarray | None:
        """A sample's stored vectors from the in-memory index and its tail (a more-like-this
        query), or None when the table is not held in memory (the caller scans Lance)."""
        held = self.in_memory(ds)
        if held is None:
            return None
        idx, tail = held
        code = None if modality is None else hnsw.MODALITY_CODES[modality]
        found: list[np.ndarray] = []
        for src in (idx, tail):
            if src is None:
                continue
            rows = self.positions(src).get(sample_id, [])
            found.extend(src.vectors[i] for i in rows if code is None or src.modalities[i] == code)
        return np.stack(found) if found else np.zeros((0, idx.vectors.shape[1]), np.float32)


def _bounded(d: dict[Any, Any], limit: int) -> None:
    if len(d) > limit:
        d.clear()

"""How the vector index is built and searched: one frozen config, shared by both back ends
(:mod:`plait.index.ann` for the in-memory HNSW file, :mod:`plait.index.vector` for Lance)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

BACKENDS = ("hnsw", "lance")
INDEX_TYPES = ("IVF_HNSW_SQ", "IVF_PQ", "IVF_FLAT")


@dataclass(frozen=True)
class VectorIndexConfig:
    """How the vector index is built and searched.

    HNSW back end: ``m`` edges per node, ``ef_construction`` (80, twice faiss's
    default of 40: the build takes about twice as long and the better graph reaches a
    recall with a smaller search ``ef``; at 100k x 512 clustered, recall@10 0.975 at
    ef 16 against 0.964 at ef 32 with 40), ``storage`` ``flat`` (float
    vectors, the structure of FAISS HNSW32), ``sq8`` or ``fp16`` (8-bit or half-precision
    codes walked, float vectors re-rank ``k * k_expansion`` candidates; the walk reads a
    quarter or half of the bytes, which pays where the vectors outgrow the caches;
    ``bench/index.py --variants sq8,fp16`` measures them against ``flat``); None keeps
    the storage of the index already built (``flat`` for a new one), a different one
    rebuilds it (``plait index --storage fp16``).
    ``ef`` None uses the efSearch calibrated at build for ``target_recall``
    (recall@10 on held-out stored vectors); set it to trade recall for speed.
    A filter whose allowed rows cost at most ``scan_work`` multiply-adds to scan (rows x
    dim) is answered exactly; a broader one by the cheaper of a scan and a filtered walk
    (:func:`plait.index.ann.filtered_walk`).

    Lance back end (``backend="lance"``): IVF partitions of ``rows_per_partition``
    rows, each an HNSW graph, re-ranked with ``refine_factor``.
    """

    threshold: int = 20_000  # below this many rows: exact search, no index
    backend: str = "hnsw"  # "hnsw" (faiss file, in memory) or "lance" (Lance's index)
    metric: str = "cosine"
    m: int = 32  # HNSW edges per node
    ef_construction: int = 80
    # hnsw back end
    storage: str | None = None  # None: as built, "flat" for a new index
    k_expansion: int = 2
    target_recall: float = 0.95
    scan_work: int = 4_000_000  # ~0.5 ms of a single-query scan on one core
    # lance back end
    index_type: str = "IVF_HNSW_SQ"
    rows_per_partition: int = 250_000  # IVF partitions = ceil(rows / this)
    num_sub_vectors: int | None = None  # IVF_PQ only; default dim / 16
    rebuild_ratio: float = 0.5  # retrain when unindexed rows exceed this share of indexed ones
    nprobes: int | None = None  # default: every partition for IVF_HNSW_*, a tenth for IVF_PQ/FLAT
    refine_factor: int | None = 2
    # query side, both back ends
    ef: int | None = None  # None: calibrated (hnsw) or 100 (lance)

    def partitions(self, rows: int) -> int:
        return max(1, math.ceil(rows / self.rows_per_partition))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

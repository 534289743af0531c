"""Vector search over one embeddings table: HNSW in memory, or Lance, exact below a threshold.

Two back ends, chosen by :class:`VectorIndexConfig` ``backend``:

- ``hnsw`` (default): a faiss HNSW file next to the table, searched in memory
  (:mod:`plait.index.ann`); rows appended since the build are searched
  exactly and merged. Lance's own vector query carries ~3 ms of fixed cost per
  call, several times a whole HNSW search, so the fast path avoids Lance.
- ``lance``: Lance's IVF_HNSW_SQ index inside the table. Rows appended after a
  build are scanned by Lance and merged; ``plait index`` folds them in
  (``optimize_indices``) or retrains once the tail outgrows the indexed part.

:func:`nearest` is what search calls: it takes the HNSW path when the table
has a usable index and otherwise asks Lance (the Lance index, or an exact scan
when there is none, or when the HNSW file is stale after a delete or a
compaction). Vectors are L2-normalised, so similarity is cosine: the inner
product for faiss, ``1 - _distance`` for Lance.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

import numpy as np

from plait.index import ann, hnsw
from plait.index.config import BACKENDS, INDEX_TYPES, VectorIndexConfig
from plait.index.memory import INDEX_NAME, IndexCache, lance_index_state

if TYPE_CHECKING:
    from lance import LanceDataset

VECTOR_COLUMN = "vector"
PREFILTER_MAX = 20_000  # Lance path: larger id sets are applied after the search instead


def index_state(ds: LanceDataset, cache: IndexCache | None = None) -> dict[str, Any] | None:
    """Name, type, partitions and indexed/unindexed row counts of the Lance vector index,
    or None without one (``cache`` keeps it per table version)."""
    return lance_index_state(ds) if cache is None else cache.lance_state(ds)


def ensure_vector_index(
    ds: LanceDataset, config: VectorIndexConfig = VectorIndexConfig()
) -> tuple[Any, str]:
    """Create, update or leave alone the index of one embeddings table.

    Returns the (possibly new) dataset and what was done: ``exact`` (below the
    threshold, nothing to index), ``built``, ``up-to-date``; for HNSW also
    ``extended`` (new rows added to the graph) and ``rebuilt`` (the table was
    changed other than by appends); for Lance ``optimised`` (tail folded in)
    and ``rebuilt`` (tail too large, retrained).
    """
    import lance

    from plait.errors import ConfigError

    if config.backend not in BACKENDS:
        raise ConfigError(f"vector backend {config.backend!r} is not one of {', '.join(BACKENDS)}")
    if config.backend == "hnsw":
        return ds, ann.ensure(ds, config)
    rows = ds.count_rows()
    state = index_state(ds)
    if state is None:
        if rows < config.threshold:
            return ds, "exact"
        create_vector_index(ds, config, rows)
        return lance.dataset(ds.uri), "built"
    unindexed = state["unindexed_rows"]
    if unindexed == 0:
        return ds, "up-to-date"
    if unindexed > config.rebuild_ratio * max(1, state["indexed_rows"]):
        create_vector_index(ds, config, rows)
        return lance.dataset(ds.uri), "rebuilt"
    ds.optimize.optimize_indices(index_names=[INDEX_NAME])
    return lance.dataset(ds.uri), "optimised"


def describe(ds: LanceDataset) -> dict[str, Any]:
    """What serves the table's vector queries: type, rows covered and not yet covered."""
    rows = ds.count_rows()
    if hnsw.files(ds.uri)["meta"].exists():
        meta = json.loads(hnsw.files(ds.uri)["meta"].read_text())
        kind = (
            "FLAT" if meta.get("graph") is False else f"HNSW{meta['m']}_{meta['storage'].upper()}"
        )
        return {
            "index": kind,
            "indexed_rows": meta["rows"],
            "unindexed_rows": rows - meta["rows"],
            "ef_search": meta.get("ef_search"),
            "exact_scan": bool(meta.get("exact")),
            "partitions": 0,
        }
    state = index_state(ds)
    if state is None:
        return {"index": "exact", "indexed_rows": 0, "unindexed_rows": rows, "partitions": 0}
    return {
        "index": state["type"],
        **{k: state[k] for k in ("indexed_rows", "unindexed_rows", "partitions")},
    }


def create_vector_index(
    ds: LanceDataset, config: VectorIndexConfig, rows: int | None = None
) -> None:
    """Train and write the index (replacing any previous one)."""
    from plait.errors import ConfigError

    if config.index_type not in INDEX_TYPES:
        raise ConfigError(
            f"index type {config.index_type!r} is not one of {', '.join(INDEX_TYPES)}"
        )
    rows = ds.count_rows() if rows is None else rows
    kwargs: dict[str, Any] = {
        "num_partitions": config.partitions(rows),
        "metric": config.metric,
        "replace": True,
        "name": INDEX_NAME,
    }
    if config.index_type.startswith("IVF_HNSW"):
        kwargs.update(m=config.m, ef_construction=config.ef_construction)
    if config.index_type == "IVF_PQ":
        dim = ds.schema.field(VECTOR_COLUMN).type.list_size
        kwargs["num_sub_vectors"] = config.num_sub_vectors or max(1, dim // 16)
    ds.create_index(VECTOR_COLUMN, config.index_type, **kwargs)


def nearest_params(
    ds: LanceDataset,
    query: np.ndarray,
    k: int,
    config: VectorIndexConfig = VectorIndexConfig(),
    cache: IndexCache | None = None,
) -> dict[str, Any]:
    """The ``nearest`` argument of a Lance scan for one query vector."""
    params: dict[str, Any] = {
        "column": VECTOR_COLUMN,
        "q": np.asarray(query, np.float32),
        "k": k,
        "metric": config.metric,  # the flat path would otherwise use L2
    }
    state = index_state(ds, cache)
    if state is None:
        params["use_index"] = False
        return params
    parts = int(state["partitions"] or 1)
    if config.nprobes is not None:
        nprobes = config.nprobes
    elif str(state["type"]).startswith("IVF_HNSW"):
        nprobes = parts
    else:
        nprobes = max(1, math.ceil(parts / 10))
    refine = config.refine_factor or 1
    params.update(nprobes=min(nprobes, parts), ef=max(config.ef or 100, k * refine))
    if config.refine_factor:
        params["refine_factor"] = config.refine_factor
    return params


def vector_search(
    ds: LanceDataset,
    query: np.ndarray,
    k: int,
    *,
    filter: str | None = None,
    columns: tuple[str, ...] = ("sample_id", "slot", "modality"),
    config: VectorIndexConfig = VectorIndexConfig(),
    cache: IndexCache | None = None,
) -> list[dict[str, Any]]:
    """The ``k`` nearest rows to ``query`` (index plus unindexed tail), best first.

    Each row carries its columns and ``similarity`` (cosine). ``filter`` is a
    Lance SQL predicate over the embeddings table, applied before the search
    (prefilter) so a selective filter still yields ``k`` rows.
    """
    k = max(1, int(k))
    tbl = ds.to_table(
        columns=[*columns, "_distance"],
        nearest=nearest_params(ds, query, k, config, cache),
        filter=filter,
        prefilter=filter is not None,
    )
    out = tbl.to_pylist()
    for row in out:
        row["similarity"] = 1.0 - float(row.pop("_distance"))
    return out


def nearest(
    ds: LanceDataset,
    query: np.ndarray,
    k: int,
    *,
    modality: str | None = None,
    exclude: str | None = None,
    allowed: set[str] | None = None,
    config: VectorIndexConfig = VectorIndexConfig(),
    cache: IndexCache | None = None,
) -> tuple[list[dict[str, Any]], bool]:
    """The ``k`` nearest rows passing the filters, and whether the search ran out of rows.

    The second value tells a caller that wants more rows (after grouping them
    by sample) whether asking again with a larger ``k`` can find any. See
    :func:`plait.index.ann.ann_search` for the filters; ``cache`` is the caller's
    :class:`~plait.index.memory.IndexCache` (None: nothing is kept for the next query).
    """
    from plait.io.corpus import sql_in, sql_str

    k = max(1, int(k))
    if config.backend == "hnsw":
        found = ann.ann_search(
            ds,
            query,
            k,
            modality=modality,
            exclude=exclude,
            allowed=allowed,
            config=config,
            cache=cache,
        )
        if found is not None:
            return found[0], len(found[0]) < k
    parts = []
    if modality:
        parts.append(f"modality = {sql_str(modality)}")
    if exclude:
        parts.append(f"sample_id != {sql_str(exclude)}")
    post = allowed is not None and len(allowed) > PREFILTER_MAX
    if allowed is not None and not post:
        parts.append(sql_in("sample_id", sorted(allowed)))
    rows = vector_search(
        ds, query, k, filter=" AND ".join(parts) or None, config=config, cache=cache
    )
    exhausted = len(rows) < k
    if post:
        keep = allowed or set()  # post implies a set
        rows = [r for r in rows if r["sample_id"] in keep]
    return rows, exhausted

"""The bridge from API requests to :mod:`plait.retrieval` (loaded lazily, so the
server runs, and says why search is missing, before retrieval is installed),
plus the summaries that hits and listings show. No FastAPI here: the export
library uses it too."""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from typing import Any

from plait.errors import ConfigError
from plait.io.corpus import Corpus, sql_in, sql_str
from plait.schema import Sample
from plait.server.errors import NotAvailableError
from plait.server.models import Filters, SearchRequest

_QUERY_FIELDS = (
    "text",
    "like",
    "modality",
    "kind",
    "encoder",
    "hybrid",
    "fulltext",
    "adaptive",
    "rollup",
    "text_weight",
)


def _retrieval() -> Any:
    try:
        mod = importlib.import_module("plait.retrieval")
    except ImportError as exc:
        raise NotAvailableError(f"search is not available: {exc}") from exc
    if not hasattr(mod, "search") or not hasattr(mod, "Query"):
        raise NotAvailableError(
            "search is not available: plait.retrieval has no search() in this install"
        )
    return mod


def retrieval_search() -> Callable[[Corpus, Any], list[Any]]:
    return _retrieval().search


def build_where(where: str | None, filters: Filters) -> str | None:
    """``where`` AND the structured filters, every value quoted here."""
    parts = [f"({where})"] if where and where.strip() else []
    if filters.langs:
        parts.append(
            "(" + " OR ".join(f"array_has(langs, {sql_str(v)})" for v in filters.langs) + ")"
        )
    if filters.licences:
        parts.append(sql_in("source.licence", filters.licences))
    if filters.sources:
        parts.append(sql_in("source.dataset", filters.sources))
    if filters.kinds:
        parts.append(sql_in("kind", filters.kinds))
    return " AND ".join(parts) if parts else None


def in_ranges(stats: dict[str, Any], ranges: dict[str, tuple[float | None, float | None]]) -> bool:
    for key, (lo, hi) in ranges.items():
        value = stats.get(key)
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return False
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            return False
    return True


def to_query(req: SearchRequest, k: int, image: bytes | None = None) -> Any:
    """A :class:`plait.retrieval.Query` for ``req`` asking for ``k`` hits."""
    if not (req.text or req.like or image is not None):
        raise ConfigError(
            "a search needs text, an image or a sample id (like); "
            "to list samples by where or filters use GET /samples"
        )
    fields = {f: getattr(req, f) for f in _QUERY_FIELDS}
    fields["where"] = build_where(req.where, req.filters)
    return _retrieval().Query(image=image, k=k, **fields)


def summary(sample: Sample, slot: int | None = None) -> dict[str, Any]:
    """What a result card shows: the caption nearest the matched slot, one image."""
    from plait.export.views import nearest_text

    image = None
    if slot is not None and 0 <= slot < len(sample.images) and sample.images[slot]:
        image = sample.images[slot]
    image = image or next((m for m in sample.images if m), None)
    if slot is not None and 0 <= slot < len(sample.texts) and sample.texts[slot]:
        caption = sample.texts[slot] or ""
    elif slot is not None and 0 <= slot < len(sample.images):
        caption = nearest_text(sample, slot)
    else:
        caption = next((t for t in sample.texts if t), "")
    return {
        "id": sample.id,
        "kind": sample.kind,
        "caption": caption[:500],
        "image": image,
        "dataset": sample.source.dataset,
        "licence": sample.source.licence,
        "langs": sorted({x for x in (sample.langs or []) if x}),
        "n_slots": len(sample.texts),
    }


def load_samples(corpus: Corpus, ids: list[str]) -> dict[str, Sample]:
    out: dict[str, Sample] = {}
    for i in range(0, len(ids), 500):
        out.update((s.id, s) for s in corpus.samples(where=sql_in("id", ids[i : i + 500])))
    return out


def run_search(
    corpus: Corpus,
    req: SearchRequest,
    image: bytes | None,
    max_page: int,
    max_offset: int,
    search_fn: Callable[[Any], list[Any]] | None = None,
) -> dict[str, Any]:
    """Search, then page, score-range and stats-range filter, and summarise the hits."""
    if req.k > max_page:
        raise ConfigError(f"k={req.k} is above the page limit of {max_page}")
    if req.offset > max_offset:
        raise ConfigError(f"offset={req.offset} is above the limit of {max_offset}")
    t0 = time.perf_counter()
    where = build_where(req.where, req.filters)
    if where:
        from plait.export.select import checked_count

        checked_count(corpus, "samples", where)  # a bad filter is a 422, not a 500 from Lance
    query = to_query(req, req.offset + req.k, image)
    hits = search_fn(query) if search_fn else retrieval_search()(corpus, query)
    hits = [
        h
        for h in hits
        if (req.min_score is None or h.score >= req.min_score)
        and (req.max_score is None or h.score <= req.max_score)
    ]
    missing = [h.sample_id for h in hits if getattr(h, "sample", None) is None]
    loaded = load_samples(corpus, list(dict.fromkeys(missing))) if missing else {}
    out = []
    for h in hits:
        sample = h.sample if getattr(h, "sample", None) is not None else loaded.get(h.sample_id)
        if req.filters.stats and (sample is None or not in_ranges(sample.stats, req.filters.stats)):
            continue
        out.append(
            {
                "sample_id": h.sample_id,
                "score": float(h.score),
                "parts": {k: float(v) for k, v in (h.parts or {}).items()},
                "slot": h.slot,
                "kind": h.kind,
                "sample": summary(sample, h.slot) if sample is not None else None,
            }
        )
    page = out[req.offset : req.offset + req.k]
    return {
        "hits": page,
        "k": req.k,
        "offset": req.offset,
        "took_ms": (time.perf_counter() - t0) * 1000,
    }

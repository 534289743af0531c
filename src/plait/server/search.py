"""The bridge from an API search request to :mod:`plait.retrieval`: the request's
fields become a :class:`~plait.retrieval.Query`, and the hits are paged,
score- and stats-filtered and summarised as cards (:mod:`plait.retrieval.cards`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from plait.errors import ConfigError
from plait.io.corpus import Corpus
from plait.io.where import to_sql
from plait.retrieval import Hit, Query, search
from plait.retrieval.cards import build_where, in_ranges, load_samples, play_info, summary
from plait.server.models import SearchRequest

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


def to_query(req: SearchRequest, k: int, image: Any = None) -> Query:
    """A :class:`plait.retrieval.Query` for ``req`` asking for ``k`` hits."""
    if not (req.text or req.like or image is not None):
        raise ConfigError(
            "a search needs text, an image or a sample id (like); "
            "to list samples by where or filters use GET /samples"
        )
    fields: dict[str, Any] = {f: getattr(req, f) for f in _QUERY_FIELDS}
    fields["where"] = build_where(req.where, req.filters)
    return Query(image=image, k=k, **fields)


def run_search(
    corpus: Corpus,
    req: SearchRequest,
    image: Any,
    max_page: int,
    max_offset: int,
    search_fn: Callable[[Query], list[Hit]] | None = None,
) -> dict[str, Any]:
    """Search, then page, score-range and stats-range filter, and summarise the hits."""
    if req.k > max_page:
        raise ConfigError(f"k={req.k} is above the page limit of {max_page}")
    if req.offset > max_offset:
        raise ConfigError(f"offset={req.offset} is above the limit of {max_offset}")
    t0 = time.perf_counter()
    where = to_sql(build_where(req.where, req.filters))  # a bad filter is a 422 here
    if where:
        from plait.export.select import checked_count

        checked_count(corpus, "samples", where)  # and one Lance cannot run is a 422 too
    query = to_query(req, req.offset + req.k, image)
    hits = search_fn(query) if search_fn else search(corpus, query)
    hits = [
        h
        for h in hits
        if (req.min_score is None or h.score >= req.min_score)
        and (req.max_score is None or h.score <= req.max_score)
    ]
    missing = [h.sample_id for h in hits if h.sample is None]
    missing += [h.pages[0] for h in hits if h.pages]  # a document's card shows its best page
    loaded = load_samples(corpus, list(dict.fromkeys(missing))) if missing else {}
    shown = [h.sample if h.sample is not None else loaded.get(h.sample_id) for h in hits]
    play = play_info(corpus, [s for s in shown if s is not None])
    out = []
    for h in hits:
        sample = h.sample if h.sample is not None else loaded.get(h.sample_id)
        if req.filters.stats and (sample is None or not in_ranges(sample.stats, req.filters.stats)):
            continue
        out.append(
            {
                "sample_id": h.sample_id,
                "score": float(h.score),
                "parts": {k: float(v) for k, v in (h.parts or {}).items()},
                "slot": h.slot,
                "kind": h.kind,
                "sample": {**summary(sample, h.slot), "play": play.get(sample.id)}
                if sample is not None
                else None,
                "time": list(h.time) if h.time else None,
                "pages": h.pages,
                "page": summary(loaded[h.pages[0]]) if h.pages and h.pages[0] in loaded else None,
            }
        )
    page = out[req.offset : req.offset + req.k]
    return {
        "hits": page,
        "k": req.k,
        "offset": req.offset,
        "took_ms": (time.perf_counter() - t0) * 1000,
    }

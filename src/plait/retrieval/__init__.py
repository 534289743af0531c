"""Retrieval over a corpus: text, image, composed, more-like-this, full-text and hybrid search.

See :class:`Query` for every kind of query and :func:`search` for the steps.
"""

from __future__ import annotations

from plait.retrieval.adaptive import adaptive_cut
from plait.retrieval.fused import search_fused
from plait.retrieval.fusion import rrf
from plait.retrieval.search import Reranker, Searcher, search, search_batch
from plait.retrieval.types import Hit, Query

__all__ = [
    "Hit",
    "Query",
    "Reranker",
    "Searcher",
    "adaptive_cut",
    "rrf",
    "search",
    "search_batch",
    "search_fused",
]

"""Indexes over a corpus: exact reference search, approximate vector index, BM25 full text.

``index(corpus)`` is what ``plait index`` runs. Search goes through
:mod:`plait.retrieval`, whose vector step is :func:`nearest` (faiss HNSW in
memory, see :mod:`plait.index.ann`, or Lance); the functions here are its
building blocks and the reference (:func:`exact_topk`) that tests and benches
check them against.
"""

from __future__ import annotations

from plait.index.build import IndexReport, index
from plait.index.config import VectorIndexConfig
from plait.index.exact import exact_topk, recall_at_k
from plait.index.fulltext import ensure_fulltext_index, fulltext_search, has_fulltext_index
from plait.index.memory import IndexCache
from plait.index.vector import (
    describe,
    ensure_vector_index,
    index_state,
    nearest,
    vector_search,
)

__all__ = [
    "IndexCache",
    "IndexReport",
    "VectorIndexConfig",
    "describe",
    "ensure_fulltext_index",
    "ensure_vector_index",
    "exact_topk",
    "fulltext_search",
    "has_fulltext_index",
    "index",
    "index_state",
    "nearest",
    "recall_at_k",
    "vector_search",
]

"""``plait index``: bring every vector index and the BM25 index up to date.

Idempotent: the first run builds; later runs fold rows added since into the
indexes (new rows join the HNSW graph; a table changed by deletes or
compaction is re-indexed), and a run with nothing new does nothing. Search is
correct at every point in between: rows an index does not cover yet are
searched exactly and merged.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from plait.errors import CorpusError, UnknownNameError
from plait.index.fulltext import ensure_fulltext_index
from plait.index.vector import VectorIndexConfig, describe, ensure_vector_index
from plait.io.corpus import Corpus, slug
from plait.io.runs import Run


@dataclass
class IndexReport:
    """What ``index`` did, per embeddings table and for the full-text index."""

    vectors: dict[str, dict[str, Any]] = field(default_factory=dict)  # table -> action, rows, type
    fulltext: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "vectors": self.vectors,
            "fulltext": self.fulltext,
            "seconds": round(self.seconds, 3),
        }


def index(
    corpus: Corpus,
    *,
    encoders: Sequence[str] | None = None,
    config: VectorIndexConfig = VectorIndexConfig(),
    fulltext: bool = True,
) -> IndexReport:
    """Index every embeddings table (or those of ``encoders``) and the sample texts.

    Raises CorpusError when there is nothing to index at all (no samples), and
    UnknownNameError naming the existing tables when an encoder has none.
    """
    import lance

    if not corpus.has("samples"):
        raise CorpusError(
            f"{corpus.path} has no samples yet: run `plait ingest {corpus.path} SOURCE` first"
        )
    tables = corpus.embedding_tables()
    if encoders:
        wanted = []
        for enc in encoders:
            name = slug(enc)
            if name not in tables:
                raise UnknownNameError("embeddings table", enc, tables)
            wanted.append(name)
        tables = wanted
    report = IndexReport()
    t0 = time.perf_counter()
    params = {"encoders": list(encoders or []), "fulltext": fulltext, **config.to_dict()}
    with Run(corpus, "index", params) as run:
        for name in tables:
            ds = lance.dataset(str(corpus.embeddings_path(name)))
            ds, action = ensure_vector_index(ds, config)
            report.vectors[name] = {"action": action, "rows": ds.count_rows(), **describe(ds)}
        if fulltext:
            samples = corpus.dataset("samples")
            assert samples is not None  # checked above: an index run needs samples
            report.fulltext = {
                "action": ensure_fulltext_index(samples),
                "rows": samples.count_rows(),
            }
        report.seconds = time.perf_counter() - t0
        run.counts.update(report.to_dict())
    return report

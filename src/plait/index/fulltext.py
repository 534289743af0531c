"""BM25 full-text index over the texts of every sample.

Lance's INVERTED index indexes the ``samples.texts`` list column in place
(``document_granularity=ROW``: all text slots of a sample form one document),
so no derived text table has to be kept in step with ``samples``. Rows added
after the build are scored by a flat scan of the unindexed tail and merged with
the index results, so new samples are found before ``plait index`` runs again.
"""

from __future__ import annotations

from typing import Any

TEXT_COLUMN = "texts"
INDEX_NAME = "texts_idx"

# English stemming and stop words: queries are free text, not identifiers.
TOKENIZER: dict[str, Any] = {
    "base_tokenizer": "simple",
    "language": "English",
    "stem": True,
    "remove_stop_words": True,
    "lower_case": True,
    "ascii_folding": True,
}


def has_fulltext_index(ds: Any) -> bool:
    return any(i.name == INDEX_NAME for i in ds.describe_indices())


def unindexed_rows(ds: Any) -> int:
    return int(ds.stats.index_stats(INDEX_NAME).get("num_unindexed_rows", 0))


def ensure_fulltext_index(ds: Any) -> str:
    """Build the index, or fold rows added since into it. Returns what was done."""
    if not has_fulltext_index(ds):
        ds.create_scalar_index(TEXT_COLUMN, "INVERTED", name=INDEX_NAME, **TOKENIZER)
        return "built"
    if unindexed_rows(ds) == 0:
        return "up-to-date"
    ds.optimize.optimize_indices(index_names=[INDEX_NAME])
    return "optimised"


def fulltext_search(
    ds: Any, text: str, k: int, *, filter: str | None = None
) -> list[tuple[str, float]]:
    """``(sample_id, bm25)`` of the ``k`` best-matching samples, best first.

    ``filter`` (SQL over samples columns) is applied before ranking, so it does
    not starve the result list. Raises ValueError from Lance without an index;
    callers check :func:`has_fulltext_index` first.
    """
    if not text.strip():
        return []
    tbl = ds.to_table(
        columns=["id", "_score"],
        full_text_query={"query": text, "columns": [TEXT_COLUMN]},
        filter=filter,
        prefilter=filter is not None,
        limit=max(1, int(k)),
    )
    pairs = list(zip(tbl.column("id").to_pylist(), tbl.column("_score").to_pylist(), strict=True))
    pairs.sort(key=lambda p: -p[1])
    return [(sid, float(score)) for sid, score in pairs]

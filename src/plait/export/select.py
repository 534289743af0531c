"""Which samples an export (or any bulk read) takes: a ``where`` filter, a search
query, or a list of ids, streamed in batches with the total known up front."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from plait.errors import ConfigError, PlaitError
from plait.io.corpus import Corpus, sql_in
from plait.io.where import Expr, where_sql
from plait.schema import Sample


@dataclass
class Selection:
    total: int
    batches: Iterator[list[Sample]]


def checked_count(corpus: Corpus, table: str, where: str | None) -> int:
    """Row count under ``where``; a filter Lance cannot parse is a ConfigError (422)."""
    try:
        return corpus.count(table, where)
    except (OSError, ValueError, RuntimeError) as exc:
        raise ConfigError(f"invalid where filter {where!r}: {_first_line(exc)}") from exc


def _first_line(exc: Exception) -> str:
    return str(exc).split(", /")[0].splitlines()[0][:300]


def search_ids(corpus: Corpus, query: Any) -> list[str]:
    """Sample ids of a search query, best first."""
    from plait.retrieval import search

    return list(dict.fromkeys(h.sample_id for h in search(corpus, query)))


def by_ids(corpus: Corpus, ids: list[str], batch_size: int) -> Iterator[list[Sample]]:
    """Samples in the order of ``ids``; ids no longer in ``samples`` are left out."""
    for i in range(0, len(ids), batch_size):
        chunk = ids[i : i + batch_size]
        found = {s.id: s for s in corpus.samples(where=sql_in("id", chunk))}
        yield [found[x] for x in chunk if x in found]


def select(
    corpus: Corpus,
    *,
    where: str | Expr | None = None,
    query: Any = None,
    ids: list[str] | None = None,
    limit: int | None = None,
    batch_size: int = 256,
) -> Selection:
    if sum(x is not None for x in (where, query, ids)) > 1:
        raise ConfigError(
            "choose the subset by one of where, query or ids (a query carries its own where)"
        )
    if query is not None:
        ids = search_ids(corpus, query)
    if ids is not None:
        ids = ids[:limit] if limit is not None else ids
        return Selection(len(ids), by_ids(corpus, ids, batch_size))
    sql = where_sql(where)  # parsed: a filter outside the grammar is a ConfigError
    total = checked_count(corpus, "samples", sql)
    if limit is not None:
        total = min(total, limit)

    def gen() -> Iterator[list[Sample]]:
        left = total
        try:
            for batch in corpus.batches("samples", where=sql, batch_size=batch_size):
                rows = [Sample.from_row(r) for r in batch.to_pylist()[:left]]
                left -= len(rows)
                if rows:
                    yield rows
                if left <= 0:
                    return
        except PlaitError:
            raise
        except (OSError, ValueError) as exc:
            raise ConfigError(f"invalid where filter {sql!r}: {_first_line(exc)}") from exc

    return Selection(total, gen())

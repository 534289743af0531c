"""A writer's view of one keyed table: inserts that never store a key twice, even
with other writers at work on the same table, and cheap while there are none.

A command opens the writer (which notes the table's version), skips inputs
whose key it knows to be stored, and hands each batch to ``write``. While the
table stays exactly as this writer last saw it (checked under the local writer
lock), a batch is a plain append. Once another writer's commit is seen (or
without a lock, on object storage), every later batch is an insert-if-absent
join on the key for the rest of the run: the writer's knowledge no longer
describes the table, but the join does not need it to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from plait import schema
from plait.io.corpus import Corpus, _family


@dataclass
class KeyedWriter:
    corpus: Corpus
    name: str
    key: tuple[str, ...]
    schema: pa.Schema | None = None
    keys: set[Any] = field(default_factory=set)
    version: int | None = 0  # the version the caller's knowledge describes (0: no table)
    inserted: int = 0
    duplicates: int = 0  # rows another writer had stored first

    @classmethod
    def open(
        cls,
        corpus: Corpus,
        name: str,
        *,
        keys: bool = True,
        where: str | None = None,
        schema_: pa.Schema | None = None,
    ) -> KeyedWriter:
        """``keys``: read the stored keys (those matching ``where``, which every key this
        writer writes must match) into ``keys``. Without, the caller promises to skip
        stored keys by knowledge it reads after this call."""
        key = schema.KEYS[_family(name)]
        w = cls(corpus, name, key, schema_)
        with corpus.lock() as locked:
            ds = corpus.open_for_write(name, schema_, locked=locked, create=False)
            if ds is not None:
                w.version = ds.version
                if keys:
                    t = ds.to_table(columns=list(key), filter=where)
                    cols = [t.column(k).to_pylist() for k in key]
                    w.keys = set(cols[0]) if len(key) == 1 else set(zip(*cols, strict=True))
        return w

    def __contains__(self, k: Any) -> bool:
        return k in self.keys

    def add(self, k: Any) -> None:
        """Reserve ``k`` (a row with it is on its way to ``write``)."""
        self.keys.add(k)

    def write(self, table: pa.Table, *, known: bool = True) -> int:
        """Insert the rows whose key is not stored; returns how many went in.
        ``known=False``: some keys were not checked against the writer's knowledge
        (they take the join)."""
        if table.num_rows == 0:
            return 0
        seen = self.version if known else None
        got, after = self.corpus.insert(self.name, table, self.schema, seen=seen)
        self.version = after if known else None
        self.inserted += got
        self.duplicates += table.num_rows - got
        return got

    def upsert(self, table: pa.Table) -> None:
        """Replace stored rows by key (rows whose keys the writer knows are stored)."""
        if table.num_rows == 0:
            return
        self.version = self.corpus.upsert(self.name, table, schema_=self.schema, seen=self.version)

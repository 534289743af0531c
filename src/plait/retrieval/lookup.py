"""Sample rows by id for search, without scanning the samples table per query.

Search needs each candidate's ``kind`` and ``parent`` (to roll pages up) and
the full rows of the hits it returns. Filtering ``samples`` by ``id IN (...)``
scans the whole table (Lance has no primary key), tens of milliseconds per
query at 10k samples and linear in the corpus. Instead one snapshot per table
version holds ``id -> row position`` (and kind, parent), read once. Hits are
then fetched by position: from the whole table held in memory when its files
are small (``ROWS_IN_MEMORY_BYTES``; a Lance ``take`` of 10 rows costs 7-10 ms
on this machine whatever the table size, most of a search, since each column
pays a fixed cost per call), else with ``take``. A long-lived searcher (the server)
checks at most every ``refresh_s`` seconds whether the table moved on, so
samples that ingest or curate add become visible without a restart.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from plait import schema
from plait.io.corpus import Corpus


@dataclass
class Snapshot:
    """One version of ``samples``: positions, kinds and parents by id."""

    ds: Any
    version: int
    pos: dict[str, int]
    kind: list[str]
    parent: list[str | None]
    rows: Any = None  # the whole table (pyarrow) when it is small, else None
    _allowed: OrderedDict[str, set[str]] = field(default_factory=OrderedDict)
    _samples: OrderedDict[str, schema.Sample] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def info(self, sample_id: str) -> tuple[str, str | None]:
        i = self.pos.get(sample_id)
        return ("", None) if i is None else (self.kind[i], self.parent[i])

    def fetch(self, ids: list[str]) -> dict[str, schema.Sample]:
        """Full rows of ``ids`` (those present), by random access; the last
        ``SAMPLES_KEPT`` rows fetched are kept (a take costs ~50 us per column, and a
        server returns the same popular hits again and again). The Samples are shared
        between callers: read them, do not change them."""
        out: dict[str, schema.Sample] = {}
        todo: list[int] = []
        with self._lock:
            for sid in dict.fromkeys(ids):
                got = self._samples.get(sid)
                if got is not None:
                    self._samples.move_to_end(sid)
                    out[sid] = got
                elif sid in self.pos:
                    todo.append(self.pos[sid])
        if todo:
            todo.sort()
            tbl = self.rows.take(todo) if self.rows is not None else self.ds.take(todo)
            fresh = {r["id"]: schema.Sample.from_row(r) for r in tbl.to_pylist()}
            out.update(fresh)
            with self._lock:
                self._samples.update(fresh)
                while len(self._samples) > SAMPLES_KEPT:
                    self._samples.popitem(last=False)
        return out

    def allowed(self, where: str, max_cached: int = 32) -> set[str]:
        """Ids matching a SQL filter; the last ``max_cached`` filters are kept (an eval
        sends thousands of queries with one filter)."""
        with self._lock:
            got = self._allowed.get(where)
            if got is not None:
                self._allowed.move_to_end(where)
                return got
        col = self.ds.to_table(columns=["id"], filter=where).column("id")
        got = set(col.to_pylist())
        with self._lock:
            self._allowed[where] = got
            while len(self._allowed) > max_cached:
                self._allowed.popitem(last=False)
        return got


class SampleLookup:
    """The current :class:`Snapshot` of a corpus's samples, rebuilt when the table changes."""

    def __init__(self, corpus: Corpus, refresh_s: float = 1.0) -> None:
        self.corpus = corpus
        self.refresh_s = refresh_s
        self._snap: Snapshot | None = None
        self._checked = 0.0
        self._lock = threading.Lock()

    def current(self) -> Snapshot | None:
        """None when the corpus has no samples table yet."""
        now = time.monotonic()
        snap = self._snap
        if snap is not None and now - self._checked < self.refresh_s:
            return snap
        with self._lock:
            if self._snap is not None and now - self._checked < self.refresh_s:
                return self._snap
            ds = self.corpus.dataset("samples")
            if ds is None:
                return None
            if self._snap is None or int(ds.version) != self._snap.version:
                self._snap = _snapshot(ds)
            self._checked = time.monotonic()
            return self._snap


ROWS_IN_MEMORY_BYTES = 64 << 20  # samples files up to this size are held whole
SAMPLES_KEPT = 4096  # fetched rows a snapshot keeps as Samples


def _snapshot(ds: Any, rows_budget: int | None = None) -> Snapshot:
    budget = ROWS_IN_MEMORY_BYTES if rows_budget is None else rows_budget
    whole = files_bytes(ds) <= budget
    tbl = ds.to_table() if whole else ds.to_table(columns=["id", "kind", "parent"])
    ids = tbl.column("id").to_pylist()
    return Snapshot(
        ds=ds,
        version=int(ds.version),
        pos={sid: i for i, sid in enumerate(ids)},
        kind=tbl.column("kind").to_pylist(),
        parent=tbl.column("parent").to_pylist(),
        # one chunk: a take from a table of many scan batches combines them every call
        rows=tbl.combine_chunks() if whole else None,
    )


def files_bytes(ds: Any) -> int:
    """Bytes of the data files the current version reads (from the manifest when it
    records them, so a table on object storage costs no request per file)."""
    root = str(ds.uri).removeprefix("file://")
    total = 0
    for frag in ds.get_fragments():
        for f in frag.metadata.files:
            size = getattr(f, "file_size_bytes", None)
            if size:
                total += int(size)
                continue
            try:
                total += os.path.getsize(os.path.join(root, "data", f.path))
            except OSError:
                return 1 << 62  # size unknown: do not hold it
    return total


__all__ = ["SampleLookup", "Snapshot"]

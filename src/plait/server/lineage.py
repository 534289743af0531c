"""A sample as the sample page shows it: slots with media info, and its lineage
(added by which run, dropped by which operator and why, restored when) from
:func:`plait.lineage.why`, which reads it back from ``runs``, ``rejected`` and
``replaced``.

A page must not scan those tables per request (a filtered scan costs tens of
milliseconds at 10k samples and grows with the corpus): :class:`LineageTables`
holds, per table version, each table's ``id -> row positions`` and, when its files
are small, the rows themselves; ``runs`` whole. It looks for new versions at most
once a second, so a page shows a run within a second of its commit.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from plait import schema
from plait.av.timing import slot_times
from plait.io.corpus import Corpus, sql_in, sql_str
from plait.langs import slot_langs
from plait.retrieval.cards import pages, play_info

_SAMPLE_COLS = schema.SAMPLES.names


def run_out(row: dict[str, Any]) -> dict[str, Any]:
    return {
        **row,
        "params": schema.loads(row.get("params")),
        "counts": schema.loads(row.get("counts")),
        "versions": schema.loads(row.get("versions")),
    }


class _Held:
    """One version of one table: row positions by ``key``, and the rows (or just
    ``columns`` of them) when they are small."""

    def __init__(self, ds: Any, key: str = "id", columns: list[str] | None = None) -> None:
        from plait.retrieval.lookup import ROWS_IN_MEMORY_BYTES, files_bytes

        self.ds, self.version = ds, int(ds.version)
        small = columns is not None or files_bytes(ds) <= ROWS_IN_MEMORY_BYTES
        self.rows = ds.to_table(columns=columns).combine_chunks() if small else None
        ids = (self.rows if self.rows is not None else ds.to_table(columns=[key])).column(key)
        self.pos: dict[str, list[int]] = {}
        for i, k in enumerate(ids.to_pylist()):
            self.pos.setdefault(k, []).append(i)
        self._all: list[dict[str, Any]] | None = None

    def take(self, key: str) -> list[dict[str, Any]]:
        at = self.pos.get(key)
        if not at:
            return []
        got = self.rows.take(at) if self.rows is not None else self.ds.take(at)
        return got.to_pylist()

    def all(self) -> list[dict[str, Any]]:
        if self._all is None:
            self._all = (self.rows if self.rows is not None else self.ds.to_table()).to_pylist()
        return self._all


_HOW = {"runs": ("run_id", None), "media": ("id", ["id", "mime", "width", "height"])}


class LineageTables:
    """``samples``, ``rejected``, ``replaced``, ``media`` and ``runs`` as a sample page reads
    them (:class:`plait.lineage.Tables`), held per version; thread-safe."""

    def __init__(self, corpus: Corpus, refresh_s: float = 1.0) -> None:
        self.corpus, self.refresh_s = corpus, refresh_s
        self._held: dict[str, tuple[float, _Held | None]] = {}
        self._lock = threading.Lock()

    def _table(self, name: str) -> _Held | None:
        now = time.monotonic()
        got = self._held.get(name)
        if got is not None and now - got[0] < self.refresh_s:
            return got[1]
        with self._lock:
            got = self._held.get(name)
            if got is not None and now - got[0] < self.refresh_s:
                return got[1]
            ds = self.corpus.dataset(name)
            held = got[1] if got is not None else None
            if ds is None:
                held = None
            elif held is None or held.version != int(ds.version):
                held = _Held(ds, *_HOW.get(name, ("id", None)))
            self._held[name] = (time.monotonic(), held)
            return held

    def clear(self) -> None:
        """Look again at once (after a write by this server)."""
        with self._lock:
            self._held.clear()

    def rows(self, table: str, sample_id: str) -> list[dict[str, Any]]:
        held = self._table(table)
        return [] if held is None else held.take(sample_id)

    def runs(self) -> list[dict[str, Any]]:
        held = self._table("runs")
        return [] if held is None else list(held.all())

    def media(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        held = self._table("media")
        if held is None:
            return {}
        return {mid: held.take(mid)[0] for mid in ids if mid in held.pos}


def sample_detail(
    corpus: Corpus, sample_id: str, tables: LineageTables | None = None
) -> dict[str, Any]:
    """The sample (present or rejected) with its slots, media info and lineage;
    ``tables`` (a server's) answers without scanning."""
    from plait.lineage import why

    lineage = why(corpus, sample_id, tables)  # NotFoundError: neither present nor rejected
    table = "samples" if lineage.status == "present" else "rejected"
    if tables is not None:
        rows = tables.rows(table, sample_id)
    else:
        rows = corpus.read(table, where=f"id = {sql_str(sample_id)}").to_pylist()
    sample = schema.Sample.from_row({k: rows[-1].get(k) for k in _SAMPLE_COLS})
    media = (
        tables.media(sample.media_ids)
        if tables is not None
        else _media_info(corpus, sample.media_ids)
    )
    langs = slot_langs(sample.texts, sample.langs, sample.stats)  # tag, else detected
    slots = []
    times = slot_times(sample)
    for i, (text, mid) in enumerate(zip(sample.texts, sample.images)):
        span = times[i]
        when = list(span) if span is not None else None
        if mid is None:
            slots.append({"index": i, "type": "text", "text": text, "lang": langs[i], "time": when})
        else:
            m = media.get(mid, {})
            kind = "image"
            if not schema.image_slots(sample.kind):  # the video's or the sound's own file
                kind = "audio" if str(m.get("mime") or "").startswith("audio/") else "video"
            slots.append(
                {
                    "index": i,
                    "type": kind,
                    "time": when,
                    "media_id": mid,
                    "mime": m.get("mime"),
                    "width": m.get("width"),
                    "height": m.get("height"),
                }
            )
    return {
        "id": sample.id,
        "kind": sample.kind,
        "status": lineage.status,
        "slots": slots,
        "source": sample.source.to_dict(),
        "meta": sample.meta,
        "stats": sample.stats,
        "parent": sample.parent,
        "position": sample.position,
        "pages": pages(corpus, sample.id) if sample.kind == schema.DOCUMENT else [],
        "lineage": [e.__dict__ for e in lineage.events],
        "play": play_info(corpus, [sample]).get(sample.id),
        "versions": lineage.versions,  # what runs replaced (a mapper's change), oldest first
    }


def _media_info(corpus: Corpus, ids: list[str]) -> dict[str, dict[str, Any]]:
    if not ids:
        return {}
    cols = ["id", "mime", "width", "height"]
    return {
        r["id"]: r for r in corpus.read("media", columns=cols, where=sql_in("id", ids)).to_pylist()
    }

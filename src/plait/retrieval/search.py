"""``search`` and ``search_batch``: vector, full-text and hybrid retrieval over a corpus.

Steps for one query: resolve the ``where``/``kind`` filter over samples to a set
of ids; run the vector search (approximate index plus its unindexed tail, or
exact below the index threshold) and/or BM25; group rows into hits (a sample's
best slot; pages into their document); fuse by reciprocal rank for hybrid;
rerank; cut adaptively; keep ``k``. Rows are fetched in growing rounds until
enough distinct hits survive grouping and filtering, so ``k`` is honoured when
many rows collapse into one document.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from plait.av.timing import hit_time
from plait.errors import ConfigError, PlaitError
from plait.index.config import VectorIndexConfig
from plait.index.fulltext import fulltext_search, has_fulltext_index
from plait.index.memory import IndexCache
from plait.index.vector import nearest
from plait.io.corpus import Corpus
from plait.io.media import sha256
from plait.retrieval.adaptive import adaptive_cut
from plait.retrieval.encoding import (
    QueryEncoder,
    choose_table,
    load_query_encoder,
    query_vector,
    table_spec,
    vectors_by_content,
)
from plait.retrieval.fusion import rrf
from plait.retrieval.lookup import SampleLookup, Snapshot
from plait.retrieval.types import Hit, Query


class Reranker(Protocol):
    """Hook that reorders the top candidates (e.g. a cross-encoder); may rescore them."""

    def rerank(self, query: Query, hits: list[Hit]) -> list[Hit]: ...


@dataclass
class _Ranked:
    """One grouped candidate from one retriever, best row first."""

    key: Hashable
    sample_id: str  # the row's own sample (a page, for a rolled-up document)
    score: float
    slot: int | None
    members: list[str]


class Searcher:
    """Runs queries against one corpus, loading each encoder once; rows written since it
    started are seen within ``refresh_s`` seconds (a server keeps one Searcher)."""

    def __init__(
        self,
        corpus: Corpus,
        *,
        encoder: QueryEncoder | None = None,
        reranker: Reranker | None = None,
        config: VectorIndexConfig = VectorIndexConfig(),
        rerank_depth: int = 30,
        refresh_s: float = 1.0,
        wrap_encoder: Callable[[QueryEncoder], QueryEncoder] | None = None,
    ) -> None:
        self.corpus = corpus
        self._wrap = wrap_encoder  # e.g. the server's batching of concurrent queries
        self._resolved: dict[tuple[Any, ...], tuple[float, tuple[str, str]]] = {}
        self._counts: dict[tuple[str, int], int] = {}
        self.reranker = reranker
        self.config = config
        self.rerank_depth = rerank_depth
        self._given = encoder
        self._encoders: dict[str, QueryEncoder] = {}
        self._tables: dict[str, tuple[float, Any]] = {}
        self._specs: dict[str, str] = {}
        self._lookup = SampleLookup(corpus, refresh_s=refresh_s)
        self._index = IndexCache()  # the vector path's in-memory state, for this searcher only

    # -- resources ---------------------------------------------------------------------------
    def encoder(self, spec: str) -> QueryEncoder:
        if self._given is not None:
            return self._given
        if spec not in self._encoders:
            enc = load_query_encoder(spec, self.corpus)
            self._encoders[spec] = self._wrap(enc) if self._wrap else enc
        return self._encoders[spec]

    def versions(self) -> tuple[Any, ...]:
        """The versions of the tables this searcher reads (samples and the embeddings
        tables it opened), as of its last refresh: equal versions give equal answers."""
        snap = self._lookup.current()
        tables = tuple((n, int(self.table(n).version)) for n in sorted(list(self._tables)))
        return (snap.version if snap is not None else None, tables)

    def table(self, name: str) -> Any:
        """The embeddings table ``name``, reopened at most once a second to see new rows."""
        now = time.monotonic()
        got = self._tables.get(name)
        if got is None or now - got[0] >= self._lookup.refresh_s:
            import lance

            got = (now, lance.dataset(str(self.corpus.embeddings_path(name))))
            self._tables[name] = got
        return got[1]

    def resolve(self, query: Query) -> tuple[str, str]:
        """The embeddings table and encoder spec for the query (remembered for
        ``refresh_s``: listing the tables costs a directory read, on object storage a
        request)."""
        if self._given is not None and not query.encoder:
            query = replace(query, encoder=self._given.name)
        key = (query.encoder, bool(query.text), query.image is not None)
        now = time.monotonic()
        got = self._resolved.get(key)
        if got is None or now - got[0] >= self._lookup.refresh_s:
            got = (now, choose_table(self.corpus, query, spec_of=self._spec))
            self._resolved[key] = got
        return got[1]

    def _rows_in(self, ds: Any) -> int:
        """Rows of an embeddings table, counted once per version."""
        key = (str(ds.uri), int(ds.version))
        if key not in self._counts:
            if len(self._counts) > 64:
                self._counts.clear()
            self._counts[key] = ds.count_rows()
        return self._counts[key]

    def _spec(self, corpus: Corpus, name: str) -> str:
        if name not in self._specs:
            self._specs[name] = table_spec(corpus, name)
        return self._specs[name]

    # -- one query ---------------------------------------------------------------------------
    def search(
        self, query: Query, text_vec: Any = None, *, image_vec: Any = None, attach: bool = True
    ) -> list[Hit]:
        """Hits best first; ``attach=False`` leaves ``Hit.sample`` empty (an evaluation
        needs only ids and scores, not the rows). ``text_vec`` / ``image_vec``: the query's
        text or image vector when the caller already has it."""
        query.validate()
        snap = self._lookup.current()
        if snap is None:
            return []
        allowed = self._allowed(query, snap)
        if allowed is not None and not allowed:
            return []
        depth = max(query.k, self.rerank_depth if self.reranker else 0)
        vec: list[_Ranked] = []
        bm: list[_Ranked] = []
        if not query.fulltext:
            name, spec = self.resolve(query)
            ds = self.table(name)
            needs_encoder = (query.image is not None and image_vec is None) or (
                query.text and text_vec is None
            )
            enc = self.encoder(spec) if needs_encoder else None
            qv = query_vector(query, enc, ds, text_vec, self._index, image_vec)
            vec = self._vector(ds, qv, query, depth, allowed, snap)
        if query.fulltext or query.hybrid:
            bm = self._bm25(query, depth, snap, allowed)
        hits = self._combine(query, vec, bm, snap)
        if self.reranker is not None:
            hits = self.reranker.rerank(query, hits[:depth])
        if query.adaptive:
            hits = hits[: query.k]
            hits = hits[: adaptive_cut([h.score for h in hits])]
        hits = hits[: query.k]
        if attach:
            _attach(hits, snap)
        return hits

    def _allowed(self, query: Query, snap: Snapshot) -> set[str] | None:
        flt = query.sample_filter()
        if flt is None:
            return None
        try:
            return snap.allowed(flt)
        except (ValueError, OSError) as exc:  # Lance reports bad SQL as either
            raise ConfigError(f"invalid where filter {flt!r}: {exc}") from exc

    def _vector(
        self,
        ds: Any,
        qv: Any,
        query: Query,
        depth: int,
        allowed: set[str] | None,
        snap: Snapshot,
    ) -> list[_Ranked]:
        total = self._rows_in(ds)
        fetch = min(total, max(4 * depth, 40))
        while True:
            rows, exhausted = (
                nearest(
                    ds,
                    qv,
                    fetch,
                    modality=query.modality,
                    exclude=query.like,
                    allowed=allowed,
                    config=self.config,
                    cache=self._index,
                )
                if fetch
                else ([], True)
            )
            ranked = _group(
                query, [(r["sample_id"], r["slot"], r["similarity"]) for r in rows], snap, allowed
            )
            if len(ranked) >= depth or exhausted or fetch >= total:
                return ranked
            fetch = min(total, fetch * 4)

    def _bm25(
        self, query: Query, depth: int, snap: Snapshot, allowed: set[str] | None = None
    ) -> list[_Ranked]:
        ds = snap.ds
        if not has_fulltext_index(ds):
            raise PlaitError(
                f"{self.corpus.path} has no full-text index: run `plait index {self.corpus.path}`"
            )
        flt = query.sample_filter()
        fetch = max(4 * depth, 40)
        while True:
            try:
                rows = fulltext_search(ds, query.text or "", fetch, filter=flt)
            except (ValueError, OSError) as exc:
                raise ConfigError(f"full-text search failed for filter {flt!r}: {exc}") from exc
            ranked = _group(
                query, [(sid, None, score) for sid, score in rows], snap, allowed, by_sample=True
            )
            if len(ranked) >= depth or len(rows) < fetch:
                return ranked
            fetch *= 4

    def _combine(
        self, query: Query, vec: list[_Ranked], bm: list[_Ranked], snap: Snapshot
    ) -> list[Hit]:
        if query.hybrid:
            by_vec = {r.key: r for r in vec}
            by_bm = {r.key: r for r in bm}
            fused = rrf({"vector": list(by_vec), "bm25": list(by_bm)})
            hits = []
            for key, parts in fused.items():
                v, b = by_vec.get(key), by_bm.get(key)
                best = v or b
                assert best is not None
                if v is not None:
                    parts["vector"] = v.score
                if b is not None:
                    parts["bm25"] = b.score
                members = list(dict.fromkeys((v.members if v else []) + (b.members if b else [])))
                hits.append(
                    _hit(key, best, parts["rrf"], parts, members, v.slot if v else None, snap)
                )
            return hits
        name = "bm25" if query.fulltext else "vector"
        return [
            _hit(r.key, r, r.score, {name: r.score}, r.members, r.slot, snap)
            for r in (bm if query.fulltext else vec)
        ]


def _group(
    query: Query,
    rows: Sequence[tuple[str, int | None, float]],
    snap: Snapshot,
    allowed: set[str] | None = None,
    by_sample: bool = False,
) -> list[_Ranked]:
    """Rows (best first) into candidates: per slot, per sample, or per document. A page
    rolls up to its document only when the document passes the query's filter too: a
    filter that keeps pages (``kind = 'page'``) gets pages back."""
    fused = query.hybrid or query.fulltext
    out: dict[Hashable, _Ranked] = {}
    for sid, slot, score in sorted(rows, key=lambda r: -r[2]):
        kind, parent = snap.info(sid)
        if not query.rollup and not fused and not by_sample:
            key: Hashable = (sid, slot)
        elif (
            query.rollup
            and kind == "page"
            and parent
            and query.kind != "page"
            and (allowed is None or parent in allowed)
        ):
            key = parent
        else:
            key = sid
        if key in out:
            if sid not in out[key].members:
                out[key].members.append(sid)
            continue
        out[key] = _Ranked(key, sid, float(score), slot, [sid])
    return list(out.values())


def _hit(
    key: Hashable,
    r: _Ranked,
    score: float,
    parts: dict[str, float],
    members: list[str],
    slot: int | None,
    snap: Snapshot,
) -> Hit:
    sid = key[0] if isinstance(key, tuple) else str(key)
    pages = [m for m in members if m != sid]  # a document's own rows are not its pages
    if sid != r.sample_id:  # a document rolled up from its pages
        return Hit(sid, score, parts, None, "document", None, pages)
    return Hit(sid, score, parts, slot, snap.info(sid)[0], None, pages)


def _attach(hits: list[Hit], snap: Snapshot) -> None:
    found = snap.fetch([h.sample_id for h in hits])
    for h in hits:
        h.sample = found.get(h.sample_id)
        if h.sample is not None:
            h.kind = h.sample.kind
            h.time = hit_time(h.sample, h.slot)


def search(
    corpus: Corpus,
    query: Query,
    *,
    encoder: QueryEncoder | None = None,
    reranker: Reranker | None = None,
    config: VectorIndexConfig = VectorIndexConfig(),
) -> list[Hit]:
    """Run one query. ``encoder`` passes an already-loaded encoder (a server keeps one)."""
    return Searcher(corpus, encoder=encoder, reranker=reranker, config=config).search(query)


def search_batch(
    corpus: Corpus,
    queries: Sequence[Query],
    *,
    encoder: QueryEncoder | None = None,
    reranker: Reranker | None = None,
    config: VectorIndexConfig = VectorIndexConfig(),
    batch_size: int = 256,
    attach: bool = True,
) -> list[list[Hit]]:
    """Run many queries, loading each encoder once and embedding query texts in batches.

    A query image whose bytes were embedded before by the same encoder (the corpus's own
    images, as an evaluation's image queries are) takes its stored vector, looked up by
    content hash, instead of being decoded and encoded again.
    """
    s = Searcher(corpus, encoder=encoder, reranker=reranker, config=config)
    text_vecs: dict[int, Any] = {}
    by_spec: dict[str, list[int]] = {}
    images: dict[str, dict[int, str]] = {}  # table -> query index -> content hash
    for i, q in enumerate(queries):
        if q.fulltext:
            continue
        if q.text or isinstance(q.image, (bytes, bytearray)):
            q.validate()
        if q.text:
            by_spec.setdefault(s.resolve(q)[1], []).append(i)
        if isinstance(q.image, (bytes, bytearray)) and q.like is None:
            images.setdefault(s.resolve(q)[0], {})[i] = sha256(bytes(q.image))
    image_vecs: dict[int, Any] = {}
    for name, hashes in images.items():
        stored = vectors_by_content(s.table(name), list(hashes.values()), "image")
        image_vecs.update({i: stored[h] for i, h in hashes.items() if h in stored})
    for spec, idx in by_spec.items():
        enc = s.encoder(spec)
        for lo in range(0, len(idx), batch_size):
            chunk = idx[lo : lo + batch_size]
            vecs = enc.encode_text([queries[i].text for i in chunk])
            text_vecs.update(zip(chunk, vecs, strict=True))
    return [
        s.search(q, text_vecs.get(i), image_vec=image_vecs.get(i), attach=attach)
        for i, q in enumerate(queries)
    ]


__all__ = ["Reranker", "Searcher", "search", "search_batch"]

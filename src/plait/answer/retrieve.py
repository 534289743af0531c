"""Step 1: candidates for a question from the corpus's own retrieval.

Hybrid (BM25 + vectors, fused by reciprocal rank) when the corpus has both indexes,
else whichever it has. Pages roll up to their document by default and the document's
best matching pages come back as the candidates (a page is what an answer cites);
``rollup=False`` keeps every matching slot's sample as it is. Each candidate carries the
text a text-only reader needs (texts, captions, OCR) and the image it shows, if any.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from plait.answer.types import Candidate
from plait.errors import PlaitError
from plait.index.fulltext import has_fulltext_index
from plait.io.corpus import Corpus, sql_in
from plait.retrieval import Query, Searcher
from plait.schema import Sample


@dataclass
class Retrieval:
    """How candidates are fetched: depth, filter, rollup, and pages kept per document."""

    depth: int = 20
    where: str | None = None
    rollup: bool = True
    pages_per_document: int = 2
    encoder: str | None = None


class Retriever:
    """Holds one :class:`Searcher` (its encoders load once) for many questions."""

    def __init__(self, corpus: Corpus, searcher: Searcher | None = None) -> None:
        self.corpus = corpus
        self.searcher = searcher or Searcher(corpus)

    def mode(self) -> tuple[bool, bool]:
        """(has vectors, has BM25), or a clear error when the corpus has neither."""
        ds = self.corpus.dataset("samples")
        if ds is None:
            raise PlaitError(f"{self.corpus.path} has no samples: ingest something first")
        vectors = bool(self.corpus.embedding_tables())
        bm25 = has_fulltext_index(ds)
        if not vectors and not bm25:
            raise PlaitError(
                f"{self.corpus.path} has no index to answer from: run "
                f"`plait embed {self.corpus.path} --encoder minilm` and "
                f"`plait index {self.corpus.path}` first"
            )
        return vectors, bm25

    def __call__(self, question: str, spec: Retrieval) -> list[Candidate]:
        vectors, bm25 = self.mode()
        q = Query(
            text=question,
            k=spec.depth,
            where=spec.where,
            hybrid=vectors and bm25,
            fulltext=bm25 and not vectors,
            rollup=spec.rollup,
            encoder=spec.encoder,
        )
        hits = self.searcher.search(q)
        out: list[Candidate] = []
        pages = self._pages([p for h in hits for p in h.pages[: spec.pages_per_document]])
        for h in hits:
            score = float(h.parts.get("vector", h.parts.get("bm25", h.score)))
            if h.pages:
                for pid in h.pages[: spec.pages_per_document]:
                    if pid in pages:
                        out.append(candidate(pages[pid], score, len(out)))
            elif h.sample is not None:
                out.append(candidate(h.sample, score, len(out), slot=h.slot))
        return out

    def _pages(self, ids: list[str]) -> dict[str, Sample]:
        if not ids:
            return {}
        return {s.id: s for s in self.corpus.samples(where=sql_in("id", ids))}


def candidate(s: Sample, score: float, rank: int, slot: int | None = None) -> Candidate:
    """A sample as a source: its text, and the image it shows (the matched image slot,
    else its first image)."""
    media = None
    if slot is not None and 0 <= slot < len(s.images) and s.images[slot] and s.image_ids:
        media = s.images[slot]
    elif s.image_ids:
        media = s.image_ids[0]
    page = (s.position + 1) if s.kind == "page" and s.position is not None else None
    return Candidate(
        sample_id=s.id,
        kind=s.kind,
        text=s.text,
        media_id=media,
        parent=s.parent,
        page=page,
        retrieval=score,
        rank=rank,
    )


def describe(c: Candidate) -> dict[str, Any]:
    """A one-line view of a source for terminals and logs."""
    where = f"{c.parent} p.{c.page}" if c.page else c.sample_id
    return {"n": c.n, "where": where, "kind": c.kind, "score": round(c.score, 3)}

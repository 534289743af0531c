"""Step 1: candidates for a question from the corpus's own retrieval.

Hybrid (BM25 + vectors, fused by reciprocal rank) when the corpus has both indexes,
else whichever it has. Pages roll up to their document by default and the document's
best matching pages come back as the candidates (a page is what an answer cites);
``rollup=False`` keeps every matching slot's sample as it is. Each candidate carries the
text a text-only reader needs (texts, captions, OCR) and the image it shows, if any.

A day the question names is a constraint neither ranking can see: BM25 splits
``25/12/2018`` into three common numbers and a sentence vector barely encodes it, so a
shop's receipts from other days outrank the one asked about. The retriever therefore
fetches a deeper pool (``pool``) and, when the question names a date, orders it by
agreement with that date before cutting to ``depth``: sources that show the day (in any
written form, :func:`plait.generators.spans.norm_date`) first, sources that show no day
next, sources that show only other days last; the fused order holds within each group.

A question that quotes a passage ("which word fills the blank in \"...\"") asks for the
page that holds those words: the quoted words go to BM25 alone (on the cloze questions of
bench/rag/documents.jsonl, hybrid found the page in the top 5 for 0.75 of them, BM25 on
the quoted words for 0.975; a sentence vector of a whole page barely moves for one
sentence of it).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import zip_longest
from typing import Any

from plait.answer.types import Candidate
from plait.errors import PlaitError
from plait.generators import spans
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
    pool: int = 50  # hits fetched before the date constraint orders them and depth cuts


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
        parts = spans.question_parts(question)
        if len(parts) > 1:  # each thing asked for in turn, found on its own
            return _interleave([self(f"show me {p}", spec) for p in parts])
        vectors, bm25 = self.mode()
        dates = {a for a in spans.question_terms(question).anchors if spans.DAY.match(a)}
        passage = spans.quoted_passage(question) if bm25 else None
        q = Query(
            text=passage or question,
            k=max(spec.depth, spec.pool) if dates else spec.depth,
            where=spec.where,
            hybrid=vectors and bm25 and not passage,
            fulltext=bm25 and (not vectors or bool(passage)),
            rollup=spec.rollup,
            encoder=spec.encoder,
        )
        hits = self.searcher.search(q)
        pages = self._pages([p for h in hits for p in h.pages[: spec.pages_per_document]])
        groups: list[list[Candidate]] = []
        for h in hits:
            score = float(h.parts.get("vector", h.parts.get("bm25", h.score)))
            group: list[Candidate] = []
            if h.pages:
                for pid in h.pages[: spec.pages_per_document]:
                    if pid in pages:
                        group.append(candidate(pages[pid], score, 0))
            elif h.sample is not None:
                group.append(candidate(h.sample, score, 0, slot=h.slot))
            if group:
                groups.append(group)
        if dates:
            groups.sort(key=lambda g: min(date_agreement(dates, c.text) for c in g))
        out = [c for g in groups[: spec.depth] for c in g]
        for i, c in enumerate(out):
            c.rank = i
        return out

    def _pages(self, ids: list[str]) -> dict[str, Sample]:
        if not ids:
            return {}
        return {s.id: s for s in self.corpus.samples(where=sql_in("id", ids))}


def _interleave(lists: list[list[Candidate]]) -> list[Candidate]:
    """First of each list, then second of each, ...; a sample found twice comes once."""
    out: list[Candidate] = []
    seen: set[tuple[str, str | None]] = set()
    for row in zip_longest(*lists):
        for c in row:
            if c is not None and (c.sample_id, c.media_id) not in seen:
                seen.add((c.sample_id, c.media_id))
                out.append(c)
    for i, c in enumerate(out):
        c.rank = i
    return out


def date_agreement(dates: set[str], text: str) -> int:
    """0 when ``text`` shows every day in ``dates``; 2 when it shows days but none of
    them (another day's receipt is not the one asked about); else 1 (no day, or some)."""
    shown = spans.dates_in(text)
    if dates <= shown:
        return 0
    return 2 if shown and not shown & dates else 1


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

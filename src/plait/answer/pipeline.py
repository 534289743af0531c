"""``ask``: retrieve -> rerank -> keep (threshold, k) -> fit the budget -> generate -> parse.

Each step is a small replaceable part (see the sibling modules); :class:`Asker` holds
what is expensive to build (the searcher and its encoders, the generator) so a server
or an evaluation answers many questions with one of each. Every answer is recorded in
the corpus's ``answers`` table. Nothing a user can send ends in a traceback: an empty
or oversized question is a ConfigError; a generator that fails (a server timing out,
answering garbage) gives an abstention that says why.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from plait import schema
from plait.answer import context, parse
from plait.answer import prompt as prompts
from plait.answer.rerank import Judge, Reranker, build_reranker
from plait.answer.retrieve import Retrieval, Retriever
from plait.answer.types import Answer, Candidate, Segment
from plait.errors import ConfigError, GeneratorError
from plait.generators import GenOptions, load_generator
from plait.generators.base import ABSTAIN, Generator
from plait.io.corpus import Corpus

MAX_QUESTION_CHARS = 2000


@dataclass
class AskOptions:
    """``k`` sources at most, each scoring ``threshold`` or more under ``rerank``."""

    k: int = 5
    threshold: float = 0.4
    rerank: str = "lexical"
    depth: int = 20  # candidates retrieved before rerank
    where: str | None = None
    rollup: bool = True
    budget: int = 1500  # context tokens
    max_new_tokens: int = 96
    record: bool = True
    encoder: str | None = None

    def check(self) -> None:
        if self.k < 1:
            raise ConfigError(f"k must be at least 1, not {self.k}")
        if not 0.0 <= self.threshold <= 1.0:
            raise ConfigError(f"threshold must lie in [0, 1], not {self.threshold}")
        from plait.io.where import parse

        parse(self.where)  # a filter outside the where grammar fails before any work
        if self.depth < self.k:
            self.depth = self.k


def check_question(question: Any) -> str:
    if not isinstance(question, str) or not question.strip():
        raise ConfigError("the question is empty")
    q = " ".join(question.split())
    if len(q) > MAX_QUESTION_CHARS:
        raise ConfigError(
            f"the question is {len(q)} characters long; the limit is {MAX_QUESTION_CHARS}"
        )
    return q


@dataclass
class _Run:
    question: str
    opts: AskOptions
    sources: list[Candidate] = field(default_factory=list)
    cut: list = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


class Asker:
    """Answers questions about one corpus with one generator."""

    def __init__(
        self,
        corpus: Corpus | str | Path,
        generator: Generator | str = "extractive",
        *,
        retriever: Retriever | None = None,
    ) -> None:
        self.corpus = corpus if isinstance(corpus, Corpus) else Corpus.open(corpus)
        self.generator = load_generator(generator) if isinstance(generator, str) else generator
        self.retriever = retriever or Retriever(self.corpus)
        self._rerankers: dict[str, Reranker] = {}

    def reranker(self, name: str) -> Reranker:
        if name not in self._rerankers:
            self._rerankers[name] = build_reranker(name, self.generator)
        return self._rerankers[name]

    # -- the steps before generation ---------------------------------------------------------
    def prepare(self, question: str, opts: AskOptions) -> _Run:
        opts.check()
        run = _Run(check_question(question), opts)
        t = time.perf_counter()
        spec = Retrieval(opts.depth, opts.where, opts.rollup, encoder=opts.encoder)
        cands = self.retriever(run.question, spec)
        run.timings["retrieve"] = time.perf_counter() - t
        t = time.perf_counter()
        rr = self.reranker(opts.rerank)
        scores = (
            rr.score(run.question, cands, self.corpus.media_many)
            if isinstance(rr, Judge)
            else rr.score(run.question, cands)
        )
        kept, cut = context.select(cands, scores, opts.threshold, opts.k)
        run.timings["rerank"] = time.perf_counter() - t
        budget = min(opts.budget, self.generator.context_tokens - opts.max_new_tokens - 200)
        run.sources, over = context.fit(
            kept, max(budget, 64), self.generator.count_tokens, question=run.question
        )
        run.cut = cut + over
        return run

    # -- answers -----------------------------------------------------------------------------
    def stream(self, question: str, opts: AskOptions | None = None) -> Iterator[dict[str, Any]]:
        """Events: ``sources`` (numbered sources and cuts), ``delta`` (text as generated),
        then ``answer`` (the parsed, recorded answer as a dict; ``_answer`` holds the
        :class:`Answer` itself)."""
        opts = replace(opts) if opts else AskOptions()
        t0 = time.perf_counter()
        run = self.prepare(question, opts)
        yield {
            "type": "sources",
            "sources": [c.to_dict() for c in run.sources],
            "cut": [c.to_dict() for c in run.cut],
        }
        raw = ""
        t = time.perf_counter()
        tokens: dict[str, int] = {}
        if not run.sources:
            raw = ABSTAIN
            run.warnings.append("no source cleared the relevance threshold")
            yield {"type": "delta", "text": raw}
        else:
            p = prompts.build(run.question, run.sources, self.generator, self.corpus.media_many)
            gopts = GenOptions(max_new_tokens=opts.max_new_tokens)
            pieces = self.generator.stream(p, gopts, run.warnings.append)
            try:
                for piece in pieces:
                    raw += piece
                    yield {"type": "delta", "text": piece}
            except GeneratorError as exc:
                run.warnings.append(f"the generator failed: {exc}")
                raw = ABSTAIN
                yield {"type": "delta", "text": "\n" + raw}
            exact = getattr(pieces, "new_tokens", None)  # a local model's own count
            tokens = {"new": exact if exact is not None else self.generator.count_tokens(raw)}
        run.timings["generate"] = time.perf_counter() - t
        answer = self._finish(run, raw, tokens, t0)
        yield {"type": "answer", "answer": answer.to_dict(), "_answer": answer}

    def ask(self, question: str, opts: AskOptions | None = None) -> Answer:
        for ev in self.stream(question, opts):
            if ev["type"] == "answer":
                return ev["_answer"]
        raise AssertionError("the answer stream ended without an answer")

    def _finish(self, run: _Run, raw: str, tokens: dict[str, int], t0: float) -> Answer:
        segments, warnings = parse.parse(raw, run.sources, run.question)
        if not run.sources:
            segments = [Segment("abstain", ABSTAIN)]
        run.timings["total"] = time.perf_counter() - t0
        answer = Answer(
            question=run.question,
            generator=self.generator.name,
            segments=segments,
            sources=run.sources,
            cut=run.cut,
            timings={k: round(v, 4) for k, v in run.timings.items()},
            warnings=run.warnings + warnings,
            raw=raw,
            tokens=tokens,
            answer_id=uuid.uuid4().hex[:16],
        )
        if run.opts.record:
            record(self.corpus, answer, run.opts)
        return answer


def record(corpus: Corpus, answer: Answer, opts: AskOptions) -> None:
    """One row in ``answers``: enough to audit the answer later without rerunning it."""
    import pyarrow as pa

    d = answer.to_dict()
    params = {k: v for k, v in asdict(opts).items() if k != "record"}
    params.update(tokens=answer.tokens, warnings=answer.warnings, raw=answer.raw)
    row = {
        "answer_id": answer.answer_id,
        "question": answer.question,
        "generator": answer.generator,
        "abstained": answer.abstained,
        "answer": d["answer"],
        "sources": json.dumps(d["sources"], ensure_ascii=False),
        "cited": answer.cited_ids,
        "segments": json.dumps(d["segments"], ensure_ascii=False),
        "cut": json.dumps(d["cut"], ensure_ascii=False),
        "timings": json.dumps(answer.timings),
        "params": json.dumps(params, ensure_ascii=False, default=str),
        "at": schema.now(),
    }
    corpus.append("answers", pa.Table.from_pylist([row], schema=schema.ANSWERS))


def ask(
    corpus: Corpus | str | Path,
    question: str,
    *,
    generator: Generator | str = "extractive",
    **options: Any,
) -> Answer:
    """Answer ``question`` from ``corpus``; options are :class:`AskOptions` fields.

    Example: ``plait.ask("./corpus", "What was the total at ABC TRADING?").markdown()``
    """
    fields = AskOptions.__dataclass_fields__
    bad = [k for k in options if k not in fields]
    if bad:
        raise ConfigError(f"ask has no option {bad[0]!r}; options: {', '.join(fields)}")
    return Asker(corpus, generator).ask(question, AskOptions(**options))

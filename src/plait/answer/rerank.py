"""Step 2: score each candidate's relevance to the question in [0, 1].

Pluggable by name (``rerank=`` on :func:`plait.answer.ask`):

- ``score``: the retriever's own score (cosine similarity; BM25 squashed to [0, 1]).
- ``lexical``: a text cross-scorer that reads question and source together. A question
  with anchors (names, numbers, dates) scores the share of them the source holds (a
  named date that is missing halves it), scaled by the IDF-weighted share of its
  content words; a question without anchors ("show me two dogs in the snow") averages
  that share with the retriever's cosine similarity, which sees paraphrases. A question
  that quotes a passage scores the share of the passage's word pairs the source holds.
  Deterministic, no model; the default.
- ``judge``: the generator itself as a pointwise yes/no judge ("does this source help
  answer the question?"), as the RagLLaVA and MM-Embed rerankers do. A generator that
  exposes ``yes_probability`` gives a graded score; any other is read yes=1 / no=0.
  Images are judged by their pixels when the generator reads them, else through
  their captions and OCR text.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Protocol

from plait.answer.types import Candidate
from plait.generators import GenOptions, ImagePart, Prompt, spans
from plait.generators.base import Generator
from plait.registry import Registry


class Reranker(Protocol):
    name: str

    def score(self, question: str, candidates: Sequence[Candidate]) -> list[float]: ...


class RetrievalScore:
    name = "score"

    def score(self, question: str, candidates: Sequence[Candidate]) -> list[float]:
        out = []
        for c in candidates:
            s = c.retrieval
            out.append(min(1.0, max(0.0, s)) if s <= 1.0 else s / (s + 5.0))
        return out


class Lexical:
    name = "lexical"

    def __init__(self, content_weight: float = 0.3) -> None:
        self.content_weight = content_weight

    def score(self, question: str, candidates: Sequence[Candidate]) -> list[float]:
        passage = spans.quoted_passage(question)
        if passage:  # words to be found as they are quoted
            return [spans.passage_overlap(passage, c.text) for c in candidates]
        parts = spans.question_parts(question)
        if len(parts) > 1:  # several things asked in turn: relevant to any one of them
            per_part = [self.score(f"show me {p}", candidates) for p in parts]
            return [max(col) for col in zip(*per_part, strict=True)]
        terms = spans.question_terms(question)
        docs = [set(spans.words(c.text)) for c in candidates]
        n = len(docs) or 1
        idf = {w: math.log(1 + n / (1 + sum(w in d for d in docs))) for w in terms.words}
        total = sum(idf.values()) or 1.0
        out = []
        for c, d in zip(candidates, docs, strict=True):
            content = sum(v for w, v in idf.items() if w in d) / total
            if terms.anchors:
                w = self.content_weight
                out.append(spans.coverage(terms, c.text) * ((1 - w) + w * content))
            else:
                semantic = c.retrieval if c.retrieval <= 1.0 else 0.0
                out.append(0.5 * content + 0.5 * max(0.0, semantic))
        return out


JUDGE_SYSTEM = (
    "You judge whether a source is relevant to a question. Reply with one word: yes or no."
)


class Judge:
    name = "judge"

    def __init__(self, generator: Generator, max_chars: int = 1200) -> None:
        self.generator = generator
        self.max_chars = max_chars

    def prompt(self, question: str, c: Candidate, image: bytes | None) -> Prompt:
        parts: list = [f"Question: {question}\n\nSource:\n"]
        if image is not None:
            parts.append(ImagePart(image, label="the source image"))
        parts.append(c.text[: self.max_chars] or "(an image with no text)")
        parts.append("\n\nDoes this source help answer the question? Reply yes or no.")
        return Prompt.of(parts, system=JUDGE_SYSTEM)

    def score(
        self,
        question: str,
        candidates: Sequence[Candidate],
        media: Callable[[list[str]], dict[str, bytes]] | None = None,
    ) -> list[float]:
        pixels: dict[str, bytes] = {}
        if self.generator.accepts_images and media is not None:
            pixels = media([c.media_id for c in candidates if c.media_id])
        prompts = [
            self.prompt(question, c, pixels.get(c.media_id) if c.media_id else None)
            for c in candidates
        ]
        yes = getattr(self.generator, "yes_probability", None)
        if callable(yes):
            return [float(p) for p in yes(prompts)]
        outs = self.generator.generate_batch(prompts, GenOptions(max_new_tokens=3))
        return [1.0 if o.text.strip().lower().startswith("yes") else 0.0 for o in outs]


RERANKERS: Registry[Callable[..., Reranker]] = Registry("reranker")
RERANKERS.add("score", RetrievalScore)
RERANKERS.add("lexical", Lexical)
RERANKERS.add("judge", Judge)


def build_reranker(name: str, generator: Generator | None = None) -> Reranker:
    factory = RERANKERS.get(name)
    if name == "judge":
        if generator is None:
            from plait.errors import ConfigError

            raise ConfigError("the judge reranker needs a generator")
        return factory(generator)
    return factory()

"""What the answer pipeline passes between its steps, and what it returns.

A :class:`Candidate` is one retrieved source (a text sample, a page, an image with its
captions and OCR text); the rerank step scores it in [0, 1]; the kept ones become the
numbered sources of the prompt; the answer comes back as ordered :class:`Segment` s.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Candidate:
    sample_id: str
    kind: str  # the sample's kind (pair, image, page, text, document, ...)
    text: str  # what a text-only reader sees: texts, captions, OCR
    media_id: str | None = None  # the image shown for this source, if any
    parent: str | None = None  # a page's document
    page: int | None = None  # a page's number, 1-based
    retrieval: float = 0.0  # the retriever's score
    rank: int = 0  # position in the retrieved list, 0-based
    score: float = 0.0  # relevance after rerank, in [0, 1]
    n: int = 0  # number in the prompt (1-based) once kept

    @property
    def is_image(self) -> bool:
        return self.media_id is not None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["text"] = self.text[:500]
        return d


@dataclass
class Cut:
    """A candidate left out, and why (below_threshold, beyond_k, over_budget)."""

    sample_id: str
    reason: str
    score: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Segment:
    """One piece of the answer, in reading order.

    ``kind`` is ``text`` (with the source numbers it cites), ``image`` (source ``n``'s
    image, placed here, with a short caption) or ``abstain`` (the sources do not say).
    """

    kind: str
    text: str = ""
    cites: list[int] = field(default_factory=list)
    n: int | None = None
    media_id: str | None = None
    sample_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in (None, [], "")} | {
            "kind": self.kind
        }


@dataclass
class Answer:
    question: str
    generator: str
    segments: list[Segment]
    sources: list[Candidate]  # the numbered sources the generator was given
    cut: list[Cut] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    raw: str = ""  # the generator's text before parsing
    tokens: dict[str, int] = field(default_factory=dict)
    answer_id: str = ""

    @property
    def abstained(self) -> bool:
        return any(s.kind == "abstain" for s in self.segments)

    @property
    def cited(self) -> list[int]:
        """Source numbers the answer cites or shows, in first-use order."""
        out: list[int] = []
        for s in self.segments:
            for n in [*s.cites, *([s.n] if s.n is not None else [])]:
                if n not in out:
                    out.append(n)
        return out

    @property
    def cited_ids(self) -> list[str]:
        by_n = {c.n: c.sample_id for c in self.sources}
        return [by_n[n] for n in self.cited if n in by_n]

    @property
    def images(self) -> list[str]:
        """Sample ids of the images placed in the answer, in order."""
        return [s.sample_id for s in self.segments if s.kind == "image" and s.sample_id]

    @property
    def text(self) -> str:
        """The answer's words without citations or images."""
        return " ".join(s.text for s in self.segments if s.kind == "text").strip()

    @property
    def short(self) -> str:
        """The span of the type the question asks for (an amount, a date), else the text."""
        from plait.generators.spans import short_answer

        return short_answer(self.question, self.text) if self.text else ""

    def markdown(self, media_url: Any = None) -> str:
        """The answer as markdown: ``[n]`` citations kept, images as ``![caption](URL)``
        where ``media_url(media_id)`` gives the URL (else ``image N``)."""
        out = []
        for s in self.segments:
            if s.kind == "image":
                url = media_url(s.media_id) if media_url and s.media_id else f"image {s.n}"
                out.append(f"\n\n![{s.text}]({url})\n\n")
            elif s.kind == "abstain":
                out.append(s.text)
            else:
                cites = "".join(f"[{n}]" for n in s.cites)
                out.append(s.text + (" " + cites if cites else ""))
        return " ".join(p for p in out if p).replace("\n\n ", "\n\n").strip()

    def to_dict(self) -> dict[str, Any]:
        return {
            "answer_id": self.answer_id,
            "question": self.question,
            "generator": self.generator,
            "answer": self.markdown(),
            "text": self.text,
            "short": self.short,
            "abstained": self.abstained,
            "segments": [s.to_dict() for s in self.segments],
            "sources": [c.to_dict() for c in self.sources],
            "cited": self.cited,
            "cited_ids": self.cited_ids,
            "images": self.images,
            "cut": [c.to_dict() for c in self.cut],
            "timings": self.timings,
            "tokens": self.tokens,
            "warnings": self.warnings,
        }

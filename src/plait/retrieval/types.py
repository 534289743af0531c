"""What a search asks (:class:`Query`) and what it returns (:class:`Hit`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from plait.errors import ConfigError
from plait.io.where import Expr
from plait.schema import Sample

MODALITIES = ("image", "text", "audio", "video")
# Query text beyond this is refused: a CLIP text tower reads 77 tokens, and BM25 work
# (and memory) grows with the number of query terms (a 1 MB query held 555 MB).
MAX_TEXT = 4096
MAX_NAME = 1024  # a sample id (``like``), an encoder spec or a kind


@dataclass
class Query:
    """One search request. At least one of ``text``, ``image`` or ``like`` is set.

    - ``text`` alone: a text query (vector, BM25 with ``fulltext``, or both with ``hybrid``).
    - ``image`` alone: an image query (bytes or a PIL image).
    - ``image`` + ``text`` (or ``like`` + ``text``): a composed query. The query
      vector is ``l2_normalise((1 - text_weight) * ref + text_weight * text)``, where
      ``ref`` is the image (or the ``like`` sample's) vector: the text says how
      the result should differ from the reference.
    - ``like``: more like this sample: the normalised mean of its own vectors
      (of ``modality`` if given); the sample itself is left out of the results.

    ``where`` is SQL over ``samples`` columns (``kind = 'page'``,
    ``source.licence = 'GPL-2'``); ``kind`` is a shorthand added to it.
    ``modality`` restricts which embedded slots may match. ``rollup`` gives one
    hit per sample (its best slot) and rolls pages up to their document unless
    ``kind == 'page'``; without it, one hit per matching (sample, slot).
    ``adaptive`` cuts the list where relevance falls off (see
    :func:`plait.retrieval.adaptive.adaptive_cut`); ``k`` is then the maximum.
    ``encoder`` defaults to the corpus's best encoder for the query (``lit:*`` first).
    """

    text: str | None = None
    image: Any = None  # bytes | PIL.Image.Image
    like: str | None = None
    where: str | Expr | None = None  # text is parsed (plait.io.where); a tree is used as is
    modality: str | None = None
    kind: str | None = None
    k: int = 10
    encoder: str | None = None
    hybrid: bool = False
    adaptive: bool = False
    rollup: bool = True
    fulltext: bool = False  # BM25 only: no vectors, no encoder
    text_weight: float = 0.5  # composed queries: weight of the modifying text

    def validate(self) -> None:
        if self.text is None and self.image is None and self.like is None:
            raise ConfigError("a query needs text, an image or a sample id (like)")
        if self.image is not None and self.like is not None:
            raise ConfigError("give either an image or a sample id (like), not both")
        if self.modality is not None and self.modality not in MODALITIES:
            raise ConfigError(
                f"modality must be one of {', '.join(MODALITIES)}, not {self.modality!r}"
            )
        if self.k < 1:
            raise ConfigError(f"k must be at least 1, not {self.k}")
        if self.text is not None and len(self.text) > MAX_TEXT:
            raise ConfigError(
                f"the query text is {len(self.text)} characters; the limit is {MAX_TEXT}"
            )
        for name in ("like", "encoder", "kind"):
            value = getattr(self, name)
            if isinstance(value, str) and len(value) > MAX_NAME:
                raise ConfigError(f"{name} is {len(value)} characters; the limit is {MAX_NAME}")
        if not 0.0 <= self.text_weight <= 1.0:
            raise ConfigError(f"text_weight must lie in [0, 1], not {self.text_weight}")
        if (self.fulltext or self.hybrid) and not self.text:
            raise ConfigError("full-text and hybrid search need query text")
        if self.fulltext and (self.image is not None or self.like is not None):
            raise ConfigError("full-text search takes text only (use hybrid to mix in vectors)")

    def sample_filter(self) -> str | None:
        """The SQL filter over samples: ``where`` (parsed, see :mod:`plait.io.where`) and
        ``kind`` together."""
        from plait.io import where as w

        return w.where_sql(self.where, w.equals("kind", self.kind))


@dataclass
class Hit:
    """One result. ``parts`` holds every score that went into ``score``.

    ``score`` is the cosine similarity for vector search, the BM25 score for
    full-text search and the reciprocal-rank-fusion score for hybrid search.
    A document rolled up from its pages lists the matching pages, best first, in
    ``pages``; its ``parts`` are those of its best page. A clip, video or sound
    hit carries ``time``: where in its file the match is (see ``plait.av.timing``).
    """

    sample_id: str
    score: float
    parts: dict[str, float] = field(default_factory=dict)
    slot: int | None = None
    kind: str = ""
    sample: Sample | None = None
    pages: list[str] = field(default_factory=list)
    # seconds in the file: the matched slot's span (a transcript or subtitle line, a
    # window of sound labels), else the clip's or the sound's own range
    time: tuple[float, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "sample_id": self.sample_id,
            "score": self.score,
            "parts": self.parts,
            "slot": self.slot,
            "kind": self.kind,
        }
        if self.pages:
            out["pages"] = self.pages
        if self.time is not None:
            out["time"] = list(self.time)
        if self.sample is not None:
            s = self.sample
            out["sample"] = {
                "kind": s.kind,
                "texts": s.texts,
                "images": s.images,
                "parent": s.parent,
                "position": s.position,
                "source": {
                    "dataset": s.source.dataset,
                    "licence": s.source.licence,
                    "uri": s.source.uri,
                },
            }
        return out

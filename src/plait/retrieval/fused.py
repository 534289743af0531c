"""One query through several embeddings tables, fused by reciprocal rank per sample.

Video and sound are reached through bridges, each its own table: keyframes
through an image-text encoder (``lit:NAME``, ``hf:...``), transcripts, subtitles,
captions and sound labels through a text encoder (``minilm``), the sound itself
through ``yamnet``. Each entry of ``encoders`` is an encoder spec, optionally
with ``@modality`` to say which slots of its table may match
(``yamnet@audio``: the sounds, not the texts it also embedded). Every list is
one hit per sample; RRF (k = 60) needs no calibration between their scores.
A hit keeps the slot of the list that ranked it best, so its ``time`` points at
the transcript line or window of sound that matched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from plait.errors import ConfigError
from plait.io.corpus import Corpus
from plait.retrieval.fusion import RRF_K
from plait.retrieval.search import Searcher
from plait.retrieval.types import MODALITIES, Hit, Query


def parse_entry(entry: str) -> tuple[str, str | None]:
    """``"yamnet@audio"`` -> ``("yamnet", "audio")``; ``"minilm"`` -> ``("minilm", None)``."""
    spec, at, modality = entry.rpartition("@")
    if not at:
        return entry, None
    if modality not in MODALITIES:
        raise ConfigError(f"{entry!r}: modality after '@' must be one of {', '.join(MODALITIES)}")
    return spec, modality


def search_fused(
    corpus: Corpus,
    query: Query,
    encoders: Sequence[str],
    *,
    searcher: Searcher | None = None,
    depth: int = 50,
    k: int = RRF_K,
) -> list[Hit]:
    """Hits best first (``score`` is the fused RRF score; ``parts`` the per-table ranks
    and scores); ``depth`` hits are taken from each table."""
    if len(encoders) < 1:
        raise ConfigError("fused search needs at least one encoder")
    if query.fulltext or query.hybrid:
        raise ConfigError("fused search combines vector tables; leave out fulltext and hybrid")
    s = searcher or Searcher(corpus)
    fused: dict[str, Hit] = {}
    for entry in encoders:
        spec, modality = parse_entry(entry)
        q = replace(
            query,
            encoder=spec,
            modality=modality or query.modality,
            k=max(depth, query.k),
            rollup=True,
            adaptive=False,
        )
        for rank, h in enumerate(s.search(q), start=1):
            got = fused.get(h.sample_id)
            if got is None:
                got = fused[h.sample_id] = replace(h, score=0.0, parts={})
            got.score += 1.0 / (k + rank)
            got.parts[f"{entry}_rank"] = float(rank)
            got.parts[entry] = h.score
    hits = sorted(fused.values(), key=lambda h: -h.score)
    return hits[: query.k]

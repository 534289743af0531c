"""Image-text similarity (CLIP score) from any encoder, and DataComp's threshold filter.

The encoder comes from ``plait.encoders.load_encoder(spec, corpus=...)`` and must
embed both modalities. A sample's score is the cosine between each image and its
best (``caption="best"``) or mean (``"mean"``) caption embedding, averaged over
its images. The top-fraction variant is global, so it is a two-phase operator:
:class:`plait.ops.dedup.similarity_top.SimilarityTopFraction`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from plait.errors import ConfigError
from plait.ops._media import images, unreadable
from plait.ops.base import DROP, Filter, OpContext
from plait.schema import Sample

CAPTION_MODES = ("best", "mean")


def load_checked(spec: str, corpus_path: str | None, *modalities: str) -> Any:
    """The encoder for ``spec``, checked to embed ``modalities``.

    Operators compare an image with its own captions, or items of one modality with each
    other, as plain cosines: a ``lit:`` adapter's hubness prior (a search-ranking
    correction, see :class:`plait.encoders.lit.HubPrior`) is left out unless the spec
    asks for it (``?prior=1``)."""
    from plait.encoders import load_encoder
    from plait.encoders.base import parse_spec

    corpus = None
    if corpus_path:
        from plait.io.corpus import Corpus

        corpus = Corpus.open(corpus_path)
    kind, _, opts = parse_spec(spec)
    plain = {"prior": False} if kind == "lit" and "prior" not in opts else {}
    enc = load_encoder(spec, corpus=corpus, **plain)
    missing = set(modalities) - set(enc.modalities)
    if missing:
        raise ConfigError(
            f"encoder {spec!r} embeds {sorted(enc.modalities)}, not {sorted(missing)}"
        )
    return enc


def load(spec: str, corpus_path: str | None) -> Any:
    """The encoder for ``spec``; it must embed images and texts."""
    return load_checked(spec, corpus_path, "image", "text")


class UsesEncoder:
    """An operator that embeds with ``self.encoder``: the spec is checked before any
    work (a missing ``lit:`` adapter fails in ``check``, ``--dry-run`` included), and the
    encoder is loaded once per corpus (an adapter belongs to its corpus)."""

    encoder: str
    _enc: Any = None
    _enc_corpus: str | None = None

    def check(self, corpus_path: str | None) -> None:
        from plait.encoders import check_spec

        check_spec(self.encoder, corpus_path)

    def encoder_for(self, corpus_path: str | None, *modalities: str) -> Any:
        """The encoder, checked to embed ``modalities`` (default: images and texts)."""
        if self._enc is None or corpus_path != self._enc_corpus:
            self._enc = load_checked(self.encoder, corpus_path, *(modalities or ("image", "text")))
            self._enc_corpus = corpus_path
        return self._enc


def similarity_scores(
    enc: Any,
    batch: list[Sample],
    ctx: OpContext,
    caption: str,
    found: dict[str, Any] | None = None,
) -> list[float | None]:
    """One score per sample (None without a decodable image or a caption); ``found``
    receives the decoded images (None: unreadable) for the caller to count."""
    decoded = images(batch, ctx)
    if found is not None:
        found.update(decoded)
    imgs = {m: im for m, im in decoded.items() if im is not None}
    ids = list(imgs)
    ivec = dict(zip(ids, enc.encode_images([imgs[m] for m in ids]))) if ids else {}
    texts = list(dict.fromkeys(t for s in batch for t in s.texts if t and t.strip()))
    tvec = dict(zip(texts, enc.encode_text(texts))) if texts else {}
    out: list[float | None] = []
    for s in batch:
        caps = [tvec[t] for t in s.texts if t in tvec]
        vs = [ivec[m] for m in s.media_ids if m in ivec]
        if not caps or not vs:
            out.append(None)
            continue
        sims = np.stack(vs) @ np.stack(caps).T  # (images, captions), L2-normalised inputs
        per_image = sims.max(axis=1) if caption == "best" else sims.mean(axis=1)
        out.append(round(float(per_image.mean()), 5))
    return out


class ImageTextSimilarity(UsesEncoder, Filter):
    """Drop pairs whose image-text cosine similarity is below ``min_score``.

    DataComp's CLIP-score threshold. Writes ``sim_score`` and ``sim_encoder``;
    reason ``similarity_below_threshold``. Samples without an image or a caption
    are kept.
    """

    name = "image_text_similarity"
    uses_model = True
    example = {"encoder": "lit:default", "min_score": 0.2}

    def __init__(
        self, encoder: str, min_score: float = 0.2, caption: str = "best", mode: str = DROP
    ) -> None:
        super().__init__(mode)
        if caption not in CAPTION_MODES:
            raise ConfigError(f"caption must be one of {CAPTION_MODES}, not {caption!r}")
        self.encoder, self.min_score, self.caption = encoder, min_score, caption

    def score(self, batch: list[Sample], ctx: OpContext) -> list[dict[str, Any]]:
        enc = self.encoder_for(ctx.corpus_path)
        found: dict[str, Any] = {}
        scores = similarity_scores(enc, batch, ctx, self.caption, found)
        return [
            {"sim_score": v, "sim_encoder": self.encoder, **unreadable(s, found)}
            for s, v in zip(batch, scores, strict=True)
        ]

    def keep(self, sample: Sample, stats: dict[str, Any]) -> str | None:
        v = stats.get("sim_score")
        return "similarity_below_threshold" if v is not None and v < self.min_score else None

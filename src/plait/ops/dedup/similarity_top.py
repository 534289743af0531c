"""DataComp's "top fraction by CLIP score": a global cut, so a two-phase operator.

``fingerprint`` scores each sample (the same score as ``image_text_similarity``);
``describe`` writes it to ``stats`` (``sim_score``, ``sim_encoder``) of kept and
dropped samples alike; ``resolve`` sees every score of the corpus and drops all but
the best ``fraction`` (ranked by score, ties by sample id), plus, when ``min_score``
is set, everything below it ("both" in DataComp's terms). ``mode: annotate``
scores and flags without dropping.
"""

from __future__ import annotations

import math
from typing import Any

from plait.errors import ConfigError
from plait.ops.base import DROP, Deduplicator, OpContext, check_mode
from plait.ops.filters.similarity import CAPTION_MODES, UsesEncoder, similarity_scores
from plait.schema import Sample


class SimilarityTopFraction(UsesEncoder, Deduplicator):
    """Keep the ``fraction`` of scored samples with the highest image-text similarity.

    Reasons ``similarity_below_top_fraction`` and ``similarity_below_threshold``.
    Samples without an image or a caption are kept and not counted.
    """

    name = "image_text_similarity_top"
    uses_model = True
    example = {"encoder": "lit:default", "fraction": 0.3}

    def __init__(
        self,
        encoder: str,
        fraction: float = 0.3,
        min_score: float | None = None,
        caption: str = "best",
        mode: str = DROP,
    ) -> None:
        if not 0 < fraction <= 1:
            raise ConfigError("fraction must be in (0, 1]")
        if caption not in CAPTION_MODES:
            raise ConfigError(f"caption must be one of {CAPTION_MODES}, not {caption!r}")
        self.encoder, self.fraction, self.min_score, self.caption = (
            encoder,
            fraction,
            min_score,
            caption,
        )
        self.mode = check_mode(mode)

    def fingerprint(self, batch: list[Sample], ctx: OpContext) -> list[Any]:
        return similarity_scores(self.encoder_for(ctx.corpus_path), batch, ctx, self.caption)

    def describe(self, fingerprint: Any) -> dict[str, Any]:
        return {"sim_score": fingerprint, "sim_encoder": self.encoder}

    def resolve(self, items: list[tuple[str, Any]]) -> dict[str, str]:
        scored = sorted(((-float(v), sid) for sid, v in items if v is not None))
        keep_n = math.ceil(self.fraction * len(scored))
        out = {sid: "similarity_below_top_fraction" for _, sid in scored[keep_n:]}
        if self.min_score is not None:
            for neg, sid in scored:
                if -neg < self.min_score:
                    out[sid] = "similarity_below_threshold"
        return out

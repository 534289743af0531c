"""``best_caption``: choose a sample's caption by image-text similarity (Panda-70M style).

Panda-70M writes several candidate captions per clip and keeps the one a retrieval
model scores closest to the video. Here the candidates are the sample's text slots
(original, rewrites, generated) and the scorer is any encoder that embeds images and
texts (``lit:NAME`` from ``plait align``, CLIP or SigLIP through ``hf:``). Nothing is
rewritten: the choice is a stat that ``plait export --caption best`` reads.
"""

from __future__ import annotations

import numpy as np

from plait.errors import ConfigError
from plait.ops._media import images
from plait.ops.base import Mapper, OpContext
from plait.ops.filters.similarity import UsesEncoder
from plait.schema import Sample
from plait.slots import added_by, provenance

CANDIDATES = ("all", "generated", "original")


class BestCaption(UsesEncoder, Mapper):
    """Pick the text slot whose embedding is closest to the image's (any cross-modal
    encoder); ``candidates``: ``all`` slots, only ``generated`` ones (the original is
    the fallback) or only ``original`` ones. Writes ``best_caption`` (slot index),
    ``best_caption_score``, ``best_caption_from`` (``original`` or the operator that
    generated it) and ``caption_scores`` ({slot: cosine}). Samples without an image
    or a caption get no choice.
    """

    name = "best_caption"
    uses_model = True
    example = {"encoder": "lit:default"}

    def __init__(self, encoder: str, candidates: str = "all") -> None:
        if candidates not in CANDIDATES:
            raise ConfigError(f"candidates must be one of {', '.join(CANDIDATES)}")
        self.encoder, self.candidates = encoder, candidates

    def _candidates(self, s: Sample) -> list[int]:
        texts = [i for i, t in enumerate(s.texts) if t and t.strip()]
        gen = added_by(s)
        if self.candidates == "original":
            return [i for i in texts if i not in gen]
        if self.candidates == "generated":
            return [i for i in texts if i in gen] or [i for i in texts if i not in gen][:1]
        return texts

    def map(self, batch: list[Sample], ctx: OpContext) -> list[Sample]:
        wanted = [(s, s.image_ids[0] if s.image_ids else None, self._candidates(s)) for s in batch]
        if not any(m and c for _, m, c in wanted):
            return batch
        enc = self.encoder_for(ctx.corpus_path)
        decoded = images(batch, ctx)
        ids = [
            m
            for m in dict.fromkeys(m for _, m, c in wanted if m and c)
            if decoded.get(m) is not None
        ]
        ivec = dict(zip(ids, enc.encode_images([decoded[m] for m in ids]))) if ids else {}
        texts = list(
            dict.fromkeys((s.texts[i] or "") for s, m, c in wanted if m in ivec for i in c)
        )
        tvec = dict(zip(texts, enc.encode_text(texts))) if texts else {}
        for s, m, cands in wanted:
            if m not in ivec or not cands:
                continue
            sims = np.stack([tvec[s.texts[i] or ""] for i in cands]) @ np.asarray(ivec[m])
            best = int(np.argmax(sims))
            slot = cands[best]
            rec = provenance(s, slot)
            s.stats["best_caption"] = slot
            s.stats["best_caption_score"] = round(float(sims[best]), 5)
            s.stats["best_caption_from"] = (rec or {}).get("op") or (
                "original" if slot not in added_by(s) else "generated"
            )
            s.stats["caption_scores"] = {
                str(i): round(float(v), 5) for i, v in zip(cands, sims, strict=True)
            }
            s.stats["best_caption_encoder"] = self.encoder
        return batch

"""``caption_from_context``: a new caption from what is known of a sample (VeCLIP / Recap).

VeCLIP and Recap-DataComp fuse a captioning model's view of the image with the noisy
alt-text. Here the generator reads the sample's alt-text (its original text slots), the
text printed in the image (the slot the ``ocr_text`` mapper added), image labels (from
``stats.image_labels``, or zero-shot from a cross-modal encoder's image tower against a
label vocabulary) and, when the generator reads pixels, the image itself.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from plait.errors import ConfigError
from plait.langs import slot_langs
from plait.ops.base import Mapper, OpContext, Result
from plait.ops.caption.base import Generating
from plait.ops.caption.prompts import CONTEXT
from plait.ops.caption.text import clean_caption
from plait.schema import Sample
from plait.slots import added_by, original_slots, set_added_slots

NONE = "(none)"


class CaptionFromContext(Generating, Mapper):
    """Add one caption written by a generator from the sample's context (VeCLIP style).

    Context: alt-text (original text slots, up to ``max_context_chars``), OCR text (the
    ``ocr_text`` mapper's slot), image labels (``stats.image_labels``, else, with
    ``labels_encoder``, the ``top_labels`` best of ``vocabulary`` by image-text
    similarity, written to ``stats.image_labels``) and the image when the generator
    accepts images and ``use_image``. A sample with none of these is skipped
    (``no_context``). Writes ``context_caption`` (1 if a slot was added, else 0) and
    ``context_caption_failed`` (the reason); the slot's provenance names its inputs.
    """

    name = "caption_from_context"
    example = {"generator": "extractive"}

    def __init__(
        self,
        generator: str = "smollm2",
        use_image: bool = True,
        labels_encoder: str | None = None,
        vocabulary: list[str] | None = None,
        top_labels: int = 5,
        max_context_chars: int = 400,
        max_new_tokens: int = 60,
        instruction: str | None = None,
        max_calls: int | None = None,
        cache: str = "corpus",
    ) -> None:
        self._init_generating(generator, cache, max_new_tokens, max_calls)
        if top_labels < 1 or max_context_chars < 20:
            raise ConfigError("need top_labels >= 1 and max_context_chars >= 20")
        if vocabulary is not None and not [v for v in vocabulary if str(v).strip()]:
            raise ConfigError("vocabulary must hold at least one label")
        self.use_image, self.labels_encoder, self.vocabulary = use_image, labels_encoder, vocabulary
        self.top_labels, self.max_context_chars = top_labels, max_context_chars
        self.instruction = instruction
        self._template = CONTEXT.with_system(instruction)
        self._enc: Any = None
        self._vocab_vecs: np.ndarray | None = None

    def check(self, corpus_path: str | None) -> None:
        super().check(corpus_path)
        if self.labels_encoder:
            from plait.encoders import check_spec

            check_spec(self.labels_encoder, corpus_path)  # a missing adapter fails before any work

    def process(self, batch: list[Sample], ctx: OpContext) -> Result:
        return self._with_counts(super().process(batch, ctx))

    # -- context --------------------------------------------------------------------------
    def _ocr_slots(self, s: Sample) -> set[int]:
        slots = added_by(s, "ocr_text")
        if isinstance(s.stats.get("ocr_slot"), int):
            slots.add(int(s.stats["ocr_slot"]))
        return {i for i in slots if 0 <= i < len(s.texts) and s.texts[i]}

    def _clip(self, text: str) -> str:
        text = " ".join(text.split())
        return (
            text if len(text) <= self.max_context_chars else text[: self.max_context_chars] + "..."
        )

    def _labels(self, batch: list[Sample], ctx: OpContext) -> dict[int, list[str]]:
        out: dict[int, list[str]] = {}
        need = []
        for b, s in enumerate(batch):
            given = s.stats.get("image_labels")
            if isinstance(given, list) and given:
                out[b] = [str(x[0] if isinstance(x, list | tuple) else x) for x in given]
            elif self.labels_encoder and s.image_ids:
                need.append(b)
        if need:
            for b, labels in zip(need, self._zero_shot([batch[b] for b in need], ctx), strict=True):
                if labels:
                    batch[b].stats["image_labels"] = labels
                    batch[b].stats["image_labels_encoder"] = self.labels_encoder
                    out[b] = [lb for lb, _ in labels]
        return out

    def _zero_shot(self, batch: list[Sample], ctx: OpContext) -> list[list[list[Any]]]:
        """The ``top_labels`` vocabulary entries closest to each sample's first image."""
        from plait.ops._media import images
        from plait.ops.caption.vocabulary import VOCABULARY
        from plait.ops.filters.similarity import load

        if self._enc is None:
            self._enc = load(str(self.labels_encoder), ctx.corpus_path)
            vocab = [str(v).strip() for v in (self.vocabulary or VOCABULARY) if str(v).strip()]
            self._vocab = vocab
            self._vocab_vecs = np.asarray(self._enc.encode_text(vocab), np.float32)
        decoded = images(batch, ctx)
        firsts = [s.image_ids[0] if s.image_ids else None for s in batch]
        ok = [m for m in dict.fromkeys(firsts) if m and decoded.get(m) is not None]
        vecs = dict(zip(ok, self._enc.encode_images([decoded[m] for m in ok]))) if ok else {}
        out: list[list[list[Any]]] = []
        for m in firsts:
            if m not in vecs:
                out.append([])
                continue
            assert self._vocab_vecs is not None
            sims = self._vocab_vecs @ np.asarray(vecs[m], np.float32)
            top = np.argsort(-sims)[: self.top_labels]
            out.append([[self._vocab[j], round(float(sims[j]), 4)] for j in top])
        return out

    # -- captions -------------------------------------------------------------------------
    def map(self, batch: list[Sample], ctx: OpContext) -> list[Sample]:
        labels = self._labels(batch, ctx)
        jobs, prompts, inputs = [], [], []
        for b, s in enumerate(batch):
            ocr = self._ocr_slots(s)
            alt_slots = [
                i for i in original_slots(s) if i not in ocr and (s.texts[i] or "").strip()
            ]
            alt = "; ".join((s.texts[i] or "").strip() for i in alt_slots)
            ocr_text = " / ".join((s.texts[i] or "").strip() for i in sorted(ocr))
            image = self._image(s, ctx) if self.use_image else None
            used = [
                name
                for name, have in (
                    ("alt", alt),
                    ("ocr", ocr_text),
                    ("labels", labels.get(b)),
                    ("image", image),
                )
                if have
            ]
            if not used:
                s.stats["context_caption"] = 0
                s.stats["context_caption_failed"] = "no_context"
                self._counts["skipped:no_context"] += 1
                continue
            jobs.append((b, alt_slots, used))
            prompts.append(
                self._template.render(
                    [image] if image is not None else (),
                    alt=self._clip(alt) if alt else NONE,
                    ocr=self._clip(ocr_text) if ocr_text else NONE,
                    labels=", ".join(labels.get(b, [])) or NONE,
                )
            )
            inputs.append(alt)
        answers = self._ask(ctx, prompts)
        for (b, alt_slots, used), ans, alt in zip(jobs, answers, inputs, strict=True):
            s = batch[b]
            cap, reason = (None, ans.reason)
            if reason is None:
                cap, reason = clean_caption(ans.text, ans.finish, source=alt or None)
                if cap is None:
                    self._counts[f"unusable:{reason}"] += 1
            if cap is None:
                s.stats["context_caption"] = 0
                s.stats["context_caption_failed"] = reason
                continue
            langs = slot_langs(s.texts, s.langs, s.stats)
            lang = langs[alt_slots[0]] if alt_slots else None
            rec = self._record(ctx, self._template, alt_slots, inputs=used)
            set_added_slots(s, self.name, [(cap, lang, None)], [rec])
            s.stats["context_caption"] = 1
            s.stats.pop("context_caption_failed", None)
            self._counts["added"] += 1
        return batch

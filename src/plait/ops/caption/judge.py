"""``caption_judge``: a generator grades captions 1-5, and a threshold filters on it."""

from __future__ import annotations

from typing import Any

from plait.errors import ConfigError
from plait.ops.base import DROP, Filter, OpContext, Result
from plait.ops.caption.base import Generating
from plait.ops.caption.prompts import JUDGE, JUDGE_IMAGE
from plait.ops.caption.text import parse_score
from plait.schema import Sample
from plait.slots import added_by, original_slots

WHICH = ("best", "original", "generated", "all")


class CaptionJudge(Generating, Filter):
    """Ask the generator to grade captions from 1 (says nothing) to 5 (specific), and
    drop samples whose grade is below ``min_score`` (0: grade only).

    A generator that reads pixels grades how well the caption describes the image
    (with ``use_image``); otherwise how informative it is as a photo description.
    ``captions``: ``best`` (the slot ``best_caption`` chose, else the first original),
    ``original`` (the first original), ``generated`` (every generated slot) or ``all``.
    Writes ``judge_scores`` ({slot: grade}) and ``judge_score`` (the highest); an answer
    without a grade counts as ``unusable:no_score`` and the sample is kept. Reason
    ``judge_below_threshold``.
    """

    name = "caption_judge"
    example = {"generator": "extractive", "min_score": 0}

    def __init__(
        self,
        generator: str = "smollm2",
        min_score: int = 0,
        captions: str = "best",
        use_image: bool = True,
        max_new_tokens: int = 4,
        max_calls: int | None = None,
        cache: str = "corpus",
        mode: str = DROP,
    ) -> None:
        super().__init__(mode)
        self._init_generating(generator, cache, max_new_tokens, max_calls)
        if captions not in WHICH:
            raise ConfigError(f"captions must be one of {', '.join(WHICH)}, not {captions!r}")
        if not 0 <= min_score <= 5:
            raise ConfigError(f"min_score must be 0 (grade only) to 5, not {min_score}")
        self.min_score, self.captions, self.use_image = min_score, captions, use_image

    def process(self, batch: list[Sample], ctx: OpContext) -> Result:
        return self._with_counts(super().process(batch, ctx))

    def _slots(self, s: Sample) -> list[int]:
        orig = [i for i in original_slots(s) if (s.texts[i] or "").strip()]
        gen = sorted(i for i in added_by(s) if 0 <= i < len(s.texts) and s.texts[i])
        if self.captions == "original":
            return orig[:1]
        if self.captions == "generated":
            return gen
        if self.captions == "all":
            return orig + gen
        best = s.stats.get("best_caption")
        if isinstance(best, int) and 0 <= best < len(s.texts) and s.texts[best]:
            return [best]
        return orig[:1]

    def score(self, batch: list[Sample], ctx: OpContext) -> list[dict[str, Any]]:
        jobs, prompts = [], []
        for b, s in enumerate(batch):
            image = self._image(s, ctx) if self.use_image else None
            template = JUDGE_IMAGE if image is not None else JUDGE
            for i in self._slots(s):
                jobs.append((b, i))
                prompts.append(
                    template.render(
                        [image] if image is not None else (), caption=(s.texts[i] or "").strip()
                    )
                )
        answers = self._ask(ctx, prompts)
        scores: list[dict[str, int]] = [{} for _ in batch]
        for (b, i), ans in zip(jobs, answers, strict=True):
            if ans.text is None:
                continue
            v = parse_score(ans.text)
            if v is None:
                self._counts["unusable:no_score"] += 1
            else:
                scores[b][str(i)] = v
        return [
            {
                "judge_scores": sc,
                "judge_score": max(sc.values()) if sc else None,
                "judge_generator": self.generator,
            }
            for sc in scores
        ]

    def keep(self, sample: Sample, stats: dict[str, Any]) -> str | None:
        v = stats.get("judge_score")
        if self.min_score and v is not None and v < self.min_score:
            return "judge_below_threshold"
        return None

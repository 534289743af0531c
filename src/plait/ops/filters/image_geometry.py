"""Image size and aspect-ratio filters (DataComp basic filtering: min side, ratio < 3).

Stats are taken over a sample's images: the smallest short side, the largest long
side and the most extreme aspect ratio. Samples without a measurable image
(text-only, or an SVG without a size) are kept.
"""

from __future__ import annotations

from typing import Any

from plait.errors import ConfigError
from plait.ops._media import Header, headers
from plait.ops.base import DROP, Filter, OpContext
from plait.schema import Sample


def _sizes(sample: Sample, info: dict[str, Header]) -> list[tuple[int, int]]:
    out = []
    for m in sample.media_ids:
        h = info.get(m)
        if h is not None and h.width and h.height:
            out.append((h.width, h.height))
    return out


class ImageSize(Filter):
    """Drop samples whose images are too small (short side) or too large (long side).

    Writes ``image_min_side`` and ``image_max_side``; reasons ``image_too_small``,
    ``image_too_large``.
    """

    name = "image_size"
    example = {"min_side": 200}

    def __init__(self, min_side: int = 0, max_side: int | None = None, mode: str = DROP) -> None:
        super().__init__(mode)
        if min_side < 0 or (max_side is not None and max_side < min_side):
            raise ConfigError("need 0 <= min_side <= max_side")
        self.min_side, self.max_side = min_side, max_side

    def score(self, batch: list[Sample], ctx: OpContext) -> list[dict[str, Any]]:
        info = headers(batch, ctx)
        out = []
        for s in batch:
            sizes = _sizes(s, info)
            out.append(
                {
                    "image_min_side": min(min(wh) for wh in sizes) if sizes else None,
                    "image_max_side": max(max(wh) for wh in sizes) if sizes else None,
                }
            )
        return out

    def keep(self, sample: Sample, stats: dict[str, Any]) -> str | None:
        lo, hi = stats.get("image_min_side"), stats.get("image_max_side")
        if lo is not None and lo < self.min_side:
            return "image_too_small"
        if hi is not None and self.max_side is not None and hi > self.max_side:
            return "image_too_large"
        return None


class AspectRatio(Filter):
    """Drop samples with an image whose long/short side ratio exceeds ``max_ratio``.

    Writes ``image_aspect_ratio`` (long side / short side, the worst image);
    reason ``aspect_ratio_too_extreme``.
    """

    name = "aspect_ratio"
    example = {"max_ratio": 3.0}

    def __init__(self, max_ratio: float = 3.0, mode: str = DROP) -> None:
        super().__init__(mode)
        if max_ratio < 1:
            raise ConfigError("max_ratio must be >= 1")
        self.max_ratio = max_ratio

    def score(self, batch: list[Sample], ctx: OpContext) -> list[dict[str, Any]]:
        info = headers(batch, ctx)
        out = []
        for s in batch:
            sizes = _sizes(s, info)
            ratio = max(max(w, h) / min(w, h) for w, h in sizes) if sizes else None
            out.append({"image_aspect_ratio": None if ratio is None else round(ratio, 4)})
        return out

    def keep(self, sample: Sample, stats: dict[str, Any]) -> str | None:
        r = stats.get("image_aspect_ratio")
        return "aspect_ratio_too_extreme" if r is not None and r > self.max_ratio else None

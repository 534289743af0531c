"""Text-in-image ratio from RapidOCR's text detector, for text-heavy images.

Only detection runs (no recognition): the ratio is the area covered by the
union of detected text boxes over the image area, rasterised on a small grid so
overlapping boxes count once.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from plait._deps import require
from plait.ops._media import images, unreadable
from plait.ops.base import DROP, Filter, OpContext
from plait.schema import Sample

_GRID = 256  # the long side of the raster the box union is drawn on


def box_union_ratio(boxes: list[Any], width: int, height: int) -> float:
    """Share of the image covered by the union of quadrilateral boxes (pixel coords)."""
    from PIL import Image, ImageDraw

    if not boxes or width <= 0 or height <= 0:
        return 0.0
    scale = _GRID / max(width, height)
    w, h = max(1, round(width * scale)), max(1, round(height * scale))
    mask = Image.new("1", (w, h), 0)
    draw = ImageDraw.Draw(mask)
    for box in boxes:
        draw.polygon([(float(x) * scale, float(y) * scale) for x, y in box], fill=1)
    return float(np.asarray(mask, dtype=bool).mean())


class TextInImage(Filter):
    """Drop images where detected text covers more than ``max_ratio`` of the area.

    Writes ``text_area_ratio`` (the highest over the sample's images); reason
    ``text_heavy_image``. The detector loads once per worker in ``setup``.
    """

    name = "text_in_image"
    uses_model = True
    example = {"max_ratio": 0.3}

    def __init__(self, max_ratio: float = 0.3, threads: int = 1, mode: str = DROP) -> None:
        super().__init__(mode)
        self.max_ratio, self.threads = max_ratio, threads
        self._ocr: Any = None

    def setup(self) -> None:
        if self._ocr is None:
            mod = require(
                "rapidocr_onnxruntime",
                "curate",
                "the text_in_image operator",
                "rapidocr-onnxruntime",
            )
            self._ocr = mod.RapidOCR(intra_op_num_threads=self.threads, inter_op_num_threads=1)

    def ratio(self, image: Any) -> float:
        arr = np.asarray(image.convert("RGB"))[:, :, ::-1].copy()  # RapidOCR wants BGR like cv2
        boxes, _ = self._ocr(arr, use_det=True, use_cls=False, use_rec=False)
        return box_union_ratio(boxes or [], image.width, image.height)

    def score(self, batch: list[Sample], ctx: OpContext) -> list[dict[str, Any]]:
        self.setup()
        found = images(batch, ctx)
        ratio = {m: self.ratio(im) for m, im in found.items() if im is not None}
        out = []
        for s in batch:
            vals = [ratio[m] for m in s.media_ids if m in ratio]
            out.append(
                {"text_area_ratio": round(max(vals), 5) if vals else None, **unreadable(s, found)}
            )
        return out

    def keep(self, sample: Sample, stats: dict[str, Any]) -> str | None:
        v = stats.get("text_area_ratio")
        return "text_heavy_image" if v is not None and v > self.max_ratio else None

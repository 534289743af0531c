"""OCR text of images and scanned pages, written into a text slot (RapidOCR).

So a receipt photo or a scanned page is found by what it says (BM25 and text vectors
index text slots) and an answer can quote it. A plain Mapper: the run that adds the
slot is recorded like any other, and the lineage of mappers covers it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from plait._deps import require
from plait.ops._media import images
from plait.ops.base import Mapper, OpContext
from plait.schema import Sample


def reading_order(result: list[Any], min_score: float) -> list[str]:
    """RapidOCR's (box, text, score) lines, top to bottom, left to right within a row."""
    rows = []
    for box, text, score in result or []:
        if float(score) < min_score or not str(text).strip():
            continue
        ys = [float(p[1]) for p in box]
        xs = [float(p[0]) for p in box]
        rows.append((min(ys), max(ys), min(xs), str(text).strip()))
    rows.sort(key=lambda r: (r[0], r[2]))
    lines: list[list[tuple[float, str]]] = []
    last_mid = None
    for top, bottom, left, text in rows:
        mid, height = (top + bottom) / 2, max(1.0, bottom - top)
        if lines and last_mid is not None and abs(mid - last_mid) < height * 0.5:
            lines[-1].append((left, text))
        else:
            lines.append([(left, text)])
            last_mid = mid
    return [" ".join(t for _, t in sorted(line)) for line in lines]


class OcrText(Mapper):
    """Add one text slot per sample with the OCR text of its images (RapidOCR det + rec).

    Lines are kept in reading order (boxes on one row joined). Only ``kinds`` are read
    (images, pairs, pages by default); with ``only_without_text`` a sample that already
    has text (a born-digital PDF page) is left alone. A rerun replaces the slot it wrote
    (its index is kept in ``stats.ocr_slot``) instead of adding another. Writes
    ``ocr_lines`` and ``ocr_chars``.
    """

    name = "ocr_text"
    uses_model = True
    example = {"min_score": 0.5}

    def __init__(
        self,
        min_score: float = 0.5,
        kinds: list[str] | None = None,
        only_without_text: bool = False,
        max_side: int = 1600,
        threads: int = 1,
    ) -> None:
        self.min_score = float(min_score)
        self.kinds = list(kinds) if kinds else ["image", "pair", "page"]
        self.only_without_text = bool(only_without_text)
        self.max_side = int(max_side)
        self.threads = int(threads)
        self._ocr: Any = None

    def setup(self) -> None:
        if self._ocr is None:
            mod = require(
                "rapidocr_onnxruntime", "curate", "the ocr_text operator", "rapidocr-onnxruntime"
            )
            self._ocr = mod.RapidOCR(intra_op_num_threads=self.threads, inter_op_num_threads=1)

    def read(self, image: Any) -> list[str]:
        im = image.convert("RGB")
        if max(im.size) > self.max_side:
            im.thumbnail((self.max_side, self.max_side))
        result, _ = self._ocr(np.asarray(im)[:, :, ::-1].copy())  # RapidOCR wants BGR
        return reading_order(result or [], self.min_score)

    def _wants(self, s: Sample) -> bool:
        if s.kind not in self.kinds or not s.image_ids:
            return False
        own = s.stats.get("ocr_slot")
        others = [t for i, t in enumerate(s.texts) if t and i != own]
        return not (self.only_without_text and others)

    def map(self, batch: list[Sample], ctx: OpContext) -> list[Sample]:
        todo = [s for s in batch if self._wants(s)]
        if not todo:
            return batch
        self.setup()
        pix = images(todo, ctx)
        for s in todo:
            lines: list[str] = []
            for m in s.image_ids:
                if pix.get(m) is not None:
                    lines.extend(self.read(pix[m]))
            text = "\n".join(lines)
            slot = s.stats.get("ocr_slot")
            if isinstance(slot, int) and 0 <= slot < len(s.texts) and s.images[slot] is None:
                s.texts[slot] = text
            else:
                s.texts.append(text)
                s.images.append(None)
                if s.langs is not None:
                    s.langs.append(None)
                s.stats["ocr_slot"] = len(s.texts) - 1
            s.stats["ocr_lines"] = len(lines)
            s.stats["ocr_chars"] = len(text)
        return batch

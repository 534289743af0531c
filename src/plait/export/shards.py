"""What every shard writer shares: numbered shards of about ``shard_size`` records, the
count of what could not be written (by reason), and how a media item is named.

A shard closes only between samples (``_advance(at_sample_end=True)``), so the
records of one sample (a document's image-text pairs) never straddle two shards
and a reader can put the sample back together.
"""

from __future__ import annotations

import io
from abc import ABC, abstractmethod
from collections import Counter
from pathlib import Path

from plait.io.media import is_svg
from plait.schema import Sample

Media = dict[str, bytes]

# PIL format -> the extension WebDataset readers (plait's among them) decode by
_EXTS = {
    "JPEG": "jpg",
    "PNG": "png",
    "WEBP": "webp",
    "GIF": "gif",
    "BMP": "bmp",
    "TIFF": "tiff",
}


class ShardWriter(ABC):
    """Fills numbered shards; subclasses write one sample's records and close one shard."""

    def __init__(self, dest: Path, shard_size: int) -> None:
        self.dest = dest
        self.shard_size = max(1, shard_size)
        self.shard = 0
        self.in_shard = 0
        self.records = 0
        self.files: list[str] = []
        self.skipped: Counter[str] = Counter()

    def shard_name(self, ext: str) -> Path:
        return self.dest / f"{self.shard:05d}{ext}"

    def _advance(self, at_sample_end: bool = True) -> None:
        """Count one record; close a full shard once the sample in hand is written."""
        self.in_shard += 1
        self.records += 1
        if at_sample_end:
            self._sample_end()

    def _sample_end(self) -> None:
        if self.in_shard >= self.shard_size:
            self._close_shard()
            self.shard += 1
            self.in_shard = 0

    @abstractmethod
    def add(self, sample: Sample, media: Media) -> None: ...

    @abstractmethod
    def _close_shard(self) -> None: ...

    def close(self) -> None:
        if self.in_shard:
            self._close_shard()


def image_info(data: bytes) -> tuple[str, int | None, int | None] | None:
    """(extension, width, height) of image bytes, read from the header; None when the
    bytes are no image a reader could decode. SVG keeps its ``svg`` (no raster size)."""
    if is_svg(data):
        return "svg", None, None
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            ext = _EXTS.get(img.format or "")
            return (ext, img.width, img.height) if ext else None
    except (UnidentifiedImageError, OSError, ValueError):
        return None


def media_ext(data: bytes) -> str:
    """``.jpg``, ``.png``... for a file holding ``data`` (``.bin`` when unknown)."""
    info = image_info(data)
    return f".{info[0]}" if info else ".bin"

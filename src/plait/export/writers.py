"""Shard writers: WebDataset tars as img2dataset writes them, Parquet, OBELICS JSONL.

Every writer takes samples one at a time with the bytes of their media, fills
shards of ``shard_size`` records named ``00000.tar``, ``00001.tar``... and
counts what it could not write by reason, so an export never stops on one bad
item (an SVG cannot become ``KEY.jpg``; a media row may be missing).
"""

from __future__ import annotations

import io
import json
import math
import tarfile
import time
from abc import ABC, abstractmethod
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa

from plait.io.media import is_svg
from plait.schema import Sample
from plait.views import pairs

Media = dict[str, bytes]


class ShardWriter(ABC):
    """Fills numbered shards; subclasses write one record and close one shard."""

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

    def _advance(self) -> None:
        """Count one record; close the shard when it is full."""
        self.in_shard += 1
        self.records += 1
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


def to_jpeg(data: bytes) -> tuple[bytes, int, int]:
    """JPEG bytes (unchanged when already JPEG) and the image size."""
    from PIL import Image

    img: Image.Image = Image.open(io.BytesIO(data))
    if img.format == "JPEG":
        return data, img.width, img.height
    img.load()
    if img.mode in ("RGBA", "LA", "P"):
        rgba = img.convert("RGBA")
        img = Image.new("RGB", rgba.size, (255, 255, 255))
        img.paste(rgba, mask=rgba.getchannel("A"))
    elif img.mode != "RGB":
        img = img.convert("RGB")
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=95)
    return buf.getvalue(), img.width, img.height


class WebDatasetWriter(ShardWriter):
    """img2dataset's layout: ``KEY.jpg``, ``KEY.txt``, ``KEY.json`` per image-text pair,
    plus ``NNNNN.parquet`` (the shard's metadata) and ``NNNNN_stats.json`` per shard."""

    def __init__(self, dest: Path, shard_size: int) -> None:
        super().__init__(dest, shard_size)
        self.key_digits = (
            max(1, math.ceil(math.log10(self.shard_size))) if self.shard_size > 1 else 1
        )
        self._tar: tarfile.TarFile | None = None
        self._meta: list[dict[str, Any]] = []
        self._failed: Counter[str] = Counter()
        self._t0 = time.time()

    def _member(self, name: str, data: bytes) -> None:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mtime = int(self._t0)
        assert self._tar is not None
        self._tar.addfile(info, io.BytesIO(data))

    def add(self, sample: Sample, media: Media) -> None:
        views = pairs(sample)
        if not views:
            self.skipped["no_image"] += 1
        for view in views:
            data = media.get(view.media_id)
            if data is None:
                self.skipped["missing_media"] += 1
                continue
            if is_svg(data):
                self.skipped["svg_not_rasterised"] += 1
                continue
            try:
                jpg, w, h = to_jpeg(data)
            except Exception as exc:  # a corrupt image in a corpus is counted, not fatal
                self.skipped[f"unreadable_image:{type(exc).__name__}"] += 1
                continue
            if self._tar is None:
                self._tar = tarfile.open(self.shard_name(".tar"), "w")
                self._t0 = time.time()
            key = f"{self.shard:05d}{self.in_shard:0{self.key_digits}d}"
            meta = {
                "key": key,
                "caption": view.caption,
                "captions": view.captions,
                "url": sample.source.url or sample.source.uri,
                "status": "success",
                "error_message": None,
                "width": w,
                "height": h,
                "original_width": w,
                "original_height": h,
                "sha256": view.media_id,
                "plait_id": sample.id,
                "slot": view.slot,
                "kind": sample.kind,
                "dataset": sample.source.dataset,
                "licence": sample.source.licence,
            }
            self._member(f"{key}.jpg", jpg)
            self._member(f"{key}.txt", view.caption.encode("utf-8"))
            self._member(f"{key}.json", json.dumps(meta, ensure_ascii=False).encode("utf-8"))
            self._meta.append(meta)
            self._advance()

    def _close_shard(self) -> None:
        if self._tar is None:
            return
        self._tar.close()
        self._tar = None
        self.files.append(self.shard_name(".tar").name)
        rows = [{k: v for k, v in m.items() if k != "captions"} for m in self._meta]
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pylist(rows), self.shard_name(".parquet"))
        stats = {
            "count": len(rows),
            "successes": len(rows),
            "failed_to_download": 0,
            "failed_to_resize": 0,
            "duration": time.time() - self._t0,
            "start_time": self._t0,
            "end_time": time.time(),
            "status_dict": {"success": len(rows)},
        }
        self.shard_name("_stats.json").write_text(json.dumps(stats, indent=2))
        self._meta = []


_PARQUET = pa.schema(
    [
        pa.field("id", pa.string()),
        pa.field("kind", pa.string()),
        pa.field("texts", pa.list_(pa.string())),
        pa.field("images", pa.list_(pa.string())),
        pa.field("image_bytes", pa.list_(pa.large_binary())),
        pa.field("langs", pa.list_(pa.string())),
        pa.field("parent", pa.string()),
        pa.field("position", pa.int32()),
        pa.field("dataset", pa.string()),
        pa.field("licence", pa.string()),
        pa.field("url", pa.string()),
        pa.field("uri", pa.string()),
        pa.field("meta", pa.string()),
        pa.field("stats", pa.string()),
    ]
)


class ParquetWriter(ShardWriter):
    """One row per sample; ``image_bytes`` runs parallel to the slots (null at text slots)."""

    def __init__(self, dest: Path, shard_size: int) -> None:
        super().__init__(dest, shard_size)
        self._rows: list[dict[str, Any]] = []

    def add(self, sample: Sample, media: Media) -> None:
        if any(m is not None and m not in media for m in sample.images):
            self.skipped["missing_media"] += 1
        row = sample.to_row()
        src = row.pop("source")
        row.pop("run_id")
        row.update(dataset=src["dataset"], licence=src["licence"], url=src["url"], uri=src["uri"])
        row["image_bytes"] = [media.get(m) if m else None for m in sample.images]
        self._rows.append(row)
        self._advance()

    def _close_shard(self) -> None:
        import pyarrow.parquet as pq

        pq.write_table(
            pa.Table.from_pylist(self._rows, schema=_PARQUET), self.shard_name(".parquet")
        )
        self.files.append(self.shard_name(".parquet").name)
        self._rows = []


def media_ext(data: bytes) -> str:
    if is_svg(data):
        return ".svg"
    head = data[:12]
    if head.startswith(b"\xff\xd8"):
        return ".jpg"
    if head.startswith(b"\x89PNG"):
        return ".png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return ".webp"
    if head.startswith(b"GIF8"):
        return ".gif"
    return ".bin"


class ObelicsWriter(ShardWriter):
    """OBELICS rows (``images``, ``texts``, ``metadata``, ``general_metadata``) in JSONL;
    image slots name files under ``images/`` (relative paths), each stored once."""

    def __init__(self, dest: Path, shard_size: int) -> None:
        super().__init__(dest, shard_size)
        self._fh: io.TextIOWrapper | None = None
        self._written: set[str] = set()
        (dest / "images").mkdir(parents=True, exist_ok=True)

    def _image_path(self, media_id: str, data: bytes) -> str:
        rel = f"images/{media_id}{media_ext(data)}"
        if media_id not in self._written:
            (self.dest / rel).write_bytes(data)
            self._written.add(media_id)
        return rel

    def add(self, sample: Sample, media: Media) -> None:
        images: list[str | None] = []
        slot_meta: list[dict[str, Any] | None] = []
        for i, m in enumerate(sample.images):
            if m is None:
                images.append(None)
                slot_meta.append(None)
                continue
            data = media.get(m)
            if data is None:
                self.skipped["missing_media"] += 1
                images.append(None)
                slot_meta.append({"media_id": m, "missing": True})
                continue
            images.append(self._image_path(m, data))
            slot_meta.append({"media_id": m, "slot": i})
        general = {
            "id": sample.id,
            "kind": sample.kind,
            "dataset": sample.source.dataset,
            "licence": sample.source.licence,
            "url": sample.source.url,
            "uri": sample.source.uri,
            "langs": sample.langs,
            "parent": sample.parent,
            "position": sample.position,
            "meta": sample.meta,
            "stats": sample.stats,
        }
        row = {
            "id": sample.id,
            "images": images,
            "texts": list(sample.texts),
            "metadata": json.dumps(slot_meta, ensure_ascii=False),
            "general_metadata": json.dumps(general, ensure_ascii=False, default=str),
        }
        if self._fh is None:
            self._fh = open(self.shard_name(".jsonl"), "w", encoding="utf-8")  # noqa: SIM115
        self._fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        self._advance()

    def _close_shard(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
            self.files.append(self.shard_name(".jsonl").name)


WRITERS: dict[str, type[ShardWriter]] = {
    "webdataset": WebDatasetWriter,
    "parquet": ParquetWriter,
    "jsonl": ObelicsWriter,
}

"""Shard writers: WebDataset tars as img2dataset writes them (:mod:`plait.export.wds`),
Parquet, OBELICS JSONL.

Every writer takes samples one at a time with the bytes of their media, fills
shards of ``shard_size`` records named ``00000.tar``, ``00001.tar``... and
counts what it could not write by reason, so an export never stops on one bad
item (a media row may be missing). Every format carries each sample's record
(:mod:`plait.io.records`) and its media bytes unchanged, so ingesting the export
gives back the same samples.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pyarrow as pa

from plait.export.av import ClipWriter, SoundWriter
from plait.export.shards import Media, ShardWriter, media_ext
from plait.export.wds import WebDatasetWriter
from plait.io.records import to_record
from plait.schema import Sample

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
        pa.field("fetched_at", pa.timestamp("us", tz="UTC")),
        pa.field("meta", pa.string()),
        pa.field("stats", pa.string()),
    ]
)


class ParquetWriter(ShardWriter):
    """One row per sample, the record as columns; ``image_bytes`` runs parallel to the
    slots (null at text slots), so the file is complete on its own."""

    def __init__(self, dest: Path, shard_size: int) -> None:
        super().__init__(dest, shard_size)
        self._rows: list[dict[str, Any]] = []

    def add(self, sample: Sample, media: Media) -> None:
        if any(m is not None and m not in media for m in sample.images):
            self.skipped["missing_media"] += 1
        row = sample.to_row()
        src = row.pop("source")
        row.pop("run_id")
        row.update(
            dataset=src["dataset"],
            licence=src["licence"],
            url=src["url"],
            uri=src["uri"],
            fetched_at=src["fetched_at"],
        )
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


class ObelicsWriter(ShardWriter):
    """OBELICS rows (``images``, ``texts``, ``metadata``, ``general_metadata``) in JSONL;
    image slots name files under ``images/`` (relative paths), each stored once;
    ``general_metadata`` holds the sample's record (its ``images`` are the media ids)."""

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
        record = to_record(sample)
        del record["texts"]  # the row holds them
        general = {
            **record,
            "url": sample.source.url,  # where OBELICS readers look
            "dataset": sample.source.dataset,
            "licence": sample.source.licence,
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


WRITERS: dict[str, type[ShardWriter]] = {  # by the name ``plait export --format`` takes
    "webdataset": WebDatasetWriter,
    "parquet": ParquetWriter,
    "jsonl": ObelicsWriter,
    "clips": ClipWriter,
    "sounds": SoundWriter,
}

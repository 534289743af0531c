"""WebDataset shards as img2dataset writes them, and able to come back whole.

Per image slot of a sample: ``KEY.<ext>`` (the stored bytes, unchanged, so the media
id survives: ``jpg``, ``png``, ``webp``, ``svg``...), ``KEY.txt`` (the caption nearest
the image; a pair's first caption, or the one ``caption`` chooses: see
:func:`plait.views.choose_caption`) and ``KEY.json`` (img2dataset's fields plus
``plait_id`` and ``slot``). A sample without an image gets one ``KEY.txt`` +
``KEY.json`` group (``status: text_only``). The first group of every sample also
carries its whole record under ``"plait"`` (:mod:`plait.io.records`): every caption,
language tags, licence, family and stats, so ``plait ingest`` of the shards gives back
the same samples. Beside each shard: ``NNNNN.parquet`` (its metadata, one row per
group) and ``NNNNN_stats.json``, as img2dataset writes them.
"""

from __future__ import annotations

import io
import json
import math
import tarfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa

from plait.export.shards import Media, ShardWriter, image_info
from plait.io.records import KEY, to_record
from plait.schema import Sample, image_slots
from plait.views import caption_source, pairs


class WebDatasetWriter(ShardWriter):
    """img2dataset's layout, one member group per image (see the module doc). ``caption``
    picks a pair's caption: ``first``, ``original``, ``best``, ``generated`` or ``mix:P``."""

    def __init__(self, dest: Path, shard_size: int, caption: str = "first") -> None:
        super().__init__(dest, shard_size)
        self.caption = caption
        self.key_digits = (
            max(1, math.ceil(math.log10(self.shard_size))) if self.shard_size > 1 else 1
        )
        self._tar: tarfile.TarFile | None = None
        self._meta: list[dict[str, Any]] = []
        self._status: Counter[str] = Counter()
        self._t0 = time.time()

    def _member(self, name: str, data: bytes) -> None:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mtime = int(self._t0)
        assert self._tar is not None
        self._tar.addfile(info, io.BytesIO(data))

    def _group(self, meta: dict[str, Any], caption: str, image: tuple[str, bytes] | None) -> None:
        if self._tar is None:
            self._tar = tarfile.open(self.shard_name(".tar"), "w")
            self._t0 = time.time()
        key = f"{self.shard:05d}{self.in_shard:0{self.key_digits}d}"
        meta = {"key": key, **meta}
        if image is not None:
            self._member(f"{key}.{image[0]}", image[1])
        self._member(f"{key}.txt", caption.encode("utf-8"))
        self._member(f"{key}.json", json.dumps(meta, ensure_ascii=False).encode("utf-8"))
        self._meta.append(meta)
        self._status[meta["status"]] += 1
        self._advance(at_sample_end=False)

    def add(self, sample: Sample, media: Media) -> None:
        if not image_slots(sample.kind):  # a video's or sound's file: not a training image
            self.skipped["timed_media"] += 1
            return
        record: dict[str, Any] | None = to_record(sample)
        base = {
            "url": sample.source.url or sample.source.uri,
            "error_message": None,
            "plait_id": sample.id,
            "kind": sample.kind,
            "dataset": sample.source.dataset,
            "licence": sample.source.licence,
        }
        for view in pairs(sample, self.caption):
            data = media.get(view.media_id)
            if data is None:
                self.skipped["missing_media"] += 1
                continue
            info = image_info(data)
            if info is None:
                self.skipped["unreadable_image"] += 1
                continue
            ext, w, h = info
            meta: dict[str, Any] = {
                **base,
                "status": "success",
                "caption": view.caption,
                "captions": view.captions,
                "width": w,
                "height": h,
                "original_width": w,
                "original_height": h,
                "sha256": view.media_id,
                "slot": view.slot,
                "caption_slot": view.caption_slot,
                "caption_source": caption_source(sample, view.caption_slot),
            }
            if record is not None:
                meta[KEY], record = record, None
            self._group(meta, view.caption, (ext, data))
        if record is not None:  # no image written: the record travels in a text group
            caption = next((t for t in sample.texts if t), "")
            meta = {**base, "status": "text_only", "caption": caption}
            meta[KEY] = record
            self._group(meta, caption, None)
        self._sample_end()

    def _close_shard(self) -> None:
        if self._tar is None:
            return
        self._tar.close()
        self._tar = None
        self.files.append(self.shard_name(".tar").name)
        rows = [{k: v for k, v in m.items() if k not in ("captions", KEY)} for m in self._meta]
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pylist(rows), self.shard_name(".parquet"))
        ok = self._status["success"]
        stats = {
            "count": len(rows),
            "successes": ok,
            "failed_to_download": 0,
            "failed_to_resize": 0,
            "duration": time.time() - self._t0,
            "start_time": self._t0,
            "end_time": time.time(),
            "status_dict": dict(self._status),
        }
        self.shard_name("_stats.json").write_text(json.dumps(stats, indent=2))
        self._meta = []
        self._status = Counter()

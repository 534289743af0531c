"""WebDataset shards of clips and of sounds, as video and audio corpora are released.

- ``clips`` (Panda-70M / WebVid style): per clip ``KEY.mp4`` (its span cut from the
  parent video and re-encoded, see :mod:`plait.av.cut`), ``KEY.txt`` (its text
  lines joined: subtitles, transcript, sound labels) and ``KEY.json`` (start, end,
  the parent video, each text line with its times, stats, licence, and the whole
  sample record under ``"plait"``).
- ``sounds`` (WavCaps style): per sound ``KEY.<ext>`` (the stored bytes unchanged,
  so the media id survives), ``KEY.txt`` (its first caption, else what was heard)
  and ``KEY.json`` (the same fields).

Samples of other kinds are skipped and counted (``not_a_clip``, ``not_a_sound``);
a clip whose video file is gone is counted as ``missing_media``.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
import time
from pathlib import Path

from plait.av.timing import media_path, slot_times, time_range
from plait.errors import PlaitError
from plait.export.shards import Media, ShardWriter
from plait.io.records import KEY, to_record
from plait.schema import AUDIO, CLIP, Sample


class _TimedWriter(ShardWriter):
    kind = ""
    skip = ""

    def __init__(self, dest: Path, shard_size: int) -> None:
        super().__init__(dest, shard_size)
        self._tar: tarfile.TarFile | None = None
        self._t0 = time.time()

    def _member(self, name: str, data: bytes) -> None:
        if self._tar is None:
            self._tar = tarfile.open(self.shard_name(".tar"), "w")
        info = tarfile.TarInfo(name)
        info.size, info.mtime = len(data), int(self._t0)
        self._tar.addfile(info, io.BytesIO(data))

    def _write(self, sample: Sample, ext: str, data: bytes, caption: str) -> None:
        key = f"{self.shard:05d}{self.in_shard:06d}"
        rng = time_range(sample)
        lines = [
            {"slot": i, "text": t, "lang": (sample.langs or [None] * len(sample.texts))[i]}
            | ({"start": sp[0], "end": sp[1]} if sp else {})
            for i, (t, sp) in enumerate(zip(sample.texts, slot_times(sample), strict=True))
            if t
        ]
        meta = {
            "key": key,
            "plait_id": sample.id,
            "kind": sample.kind,
            "parent": sample.parent,
            "start": rng[0] if rng else None,
            "end": rng[1] if rng else None,
            "caption": caption,
            "texts": lines,
            "stats": {k: v for k, v in sample.stats.items() if k not in ("times", "added_slots")},
            "dataset": sample.source.dataset,
            "licence": sample.source.licence,
            "source": sample.source.uri,
            KEY: to_record(sample),
        }
        self._member(f"{key}.{ext}", data)
        self._member(f"{key}.txt", caption.encode("utf-8"))
        self._member(f"{key}.json", json.dumps(meta, ensure_ascii=False, default=str).encode())
        self._advance()

    def _close_shard(self) -> None:
        if self._tar is not None:
            self._tar.close()
            self._tar = None
            self.files.append(self.shard_name(".tar").name)


class ClipWriter(_TimedWriter):
    def add(self, sample: Sample, media: Media) -> None:
        if sample.kind != CLIP:
            self.skipped["not_a_clip"] += 1
            return
        path, rng = media_path(sample), time_range(sample)
        if rng is None or not os.path.isfile(path):
            self.skipped["missing_media"] += 1
            return
        from plait.av.cut import cut_mp4

        try:
            data = cut_mp4(path, rng[0], rng[1])
        except (PlaitError, OSError, ValueError) as exc:  # FFmpeg errors are ValueErrors
            self.skipped[f"cut_failed: {type(exc).__name__}"] += 1
            return
        self._write(sample, "mp4", data, " ".join(t for t in sample.texts if t))


class SoundWriter(_TimedWriter):
    def add(self, sample: Sample, media: Media) -> None:
        if sample.kind != AUDIO or not sample.media_ids:
            self.skipped["not_a_sound"] += 1
            return
        mid = sample.media_ids[0]
        data = media.get(mid)
        if data is None:
            self.skipped["missing_media"] += 1
            return
        caption = next((t for t in sample.texts if t), "")
        self._write(sample, _ext(sample), data, caption)


def _ext(sample: Sample) -> str:
    ext = os.path.splitext(media_path(sample))[1].lstrip(".").lower()
    return ext or "bin"


__all__ = ["ClipWriter", "SoundWriter"]

"""Sound files: one ``audio`` sample per file (wav, flac, ogg, mp3, ...).

The sample holds the sound as a media slot, then its caption lines (``a.txt``)
and its subtitle cues (``a.srt``/``a.vtt``) as text slots with their times in
``meta.times``. Sounds up to ``inline_bytes`` are copied into the media table
(a corpus of sound effects stays self-contained); longer recordings are stored
by reference with their sha256, like video. Nothing is decoded at ingest: a
ten-hour recording costs one chunked hash and a header read.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from plait.av.probe import AUDIO_EXTS, Probe
from plait.ingest.base import Item, RawSample
from plait.ingest.timed import Sidecars, TimedReader
from plait.schema import AUDIO


@dataclass
class AudioReader(TimedReader):
    inline_bytes: int = 8 * 1024 * 1024
    exts: frozenset[str] = field(init=False, repr=False, default=AUDIO_EXTS)
    kind: str = field(init=False, repr=False, default=AUDIO)

    def _read(self, path: str, rel: str, info: Probe, side: Sidecars) -> Iterator[Item]:
        media = self.media_file(path, info, inline=info.size <= self.inline_bytes)
        times: list = [None] * (1 + len(side.captions))
        times += [[c.start, c.end] for c in side.cues]
        yield RawSample(
            key=rel,
            kind=AUDIO,
            slots=[media, *side.captions, *(c.text for c in side.cues)],
            langs=[None, *side.langs, *([None] * len(side.cues))],
            source=self.source(path),
            meta={"file": rel, **info.meta(), "times": times, **side.meta},
        )

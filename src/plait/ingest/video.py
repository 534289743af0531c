"""Video files: one ``video`` sample per file and one ``clip`` sample per shot.

A clip (key ``a.mp4#c3``, ``parent_key`` ``a.mp4``, ``position`` 3) holds its
keyframes as image slots and the subtitle cues whose midpoint falls in it as text
slots; ``meta`` has its ``start``/``end`` seconds, what started it (``start``,
``cut`` or ``split``) and ``times`` (one entry per slot). Its ``source.uri`` is the
file with a media fragment (``/v/a.mp4#t=1.2,3.04``). Shots come from one
decoding pass (:mod:`plait.av.scan`); shots longer than ``max_clip_s`` are split.

The ``video`` sample holds the file as a media slot, stored by reference with its
sha256 (gigabytes of video are never copied into the corpus nor read per
request; the server serves byte ranges from the file), then its caption lines.
It is yielded after its clips, so a run killed mid-file redoes that file.

A file FFmpeg cannot open is quarantined (``truncated_video``, ``corrupt_video``,
``empty_file``, ...); one whose frames stop decoding part way keeps the clips
before that point and adds a ``truncated_video`` quarantine row at the time it
stopped (``file#t=12.4``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from plait.av.probe import VIDEO_EXTS, Probe
from plait.av.scan import Clip, ScanOptions, ScanResult, check_options, scan
from plait.av.subtitles import Cue
from plait.av.timing import fragment
from plait.ingest.base import Failure, ImageInput, Item, RawSample
from plait.ingest.timed import Sidecars, TimedReader
from plait.schema import CLIP, VIDEO


@dataclass
class VideoReader(TimedReader):
    detector: str = "content"  # content, adaptive or none (fixed-length clips)
    threshold: float | None = None
    min_clip_s: float = 0.5
    max_clip_s: float = 20.0
    keyframes: int = 3
    keyframe_side: int = 512
    exts: frozenset[str] = field(init=False, repr=False, default=VIDEO_EXTS)
    kind: str = field(init=False, repr=False, default=VIDEO)
    keep_open: bool = field(init=False, repr=False, default=True)  # the scan reuses it

    def __post_init__(self) -> None:
        super().__post_init__()
        self.options = ScanOptions(
            detector=self.detector,
            threshold=self.threshold,
            min_clip_s=self.min_clip_s,
            max_clip_s=self.max_clip_s,
            keyframes=self.keyframes,
            keyframe_side=self.keyframe_side,
        )
        check_options(self.options)  # a bad option fails before any file is read

    def _read(self, path: str, rel: str, info: Probe, side: Sidecars) -> Iterator[Item]:
        if not info.has_video:
            yield Failure(path, "no_video_stream", "the file holds sound only (read it as audio)")
            return
        media = self.media_file(path, info)
        result = ScanResult()
        cues = list(side.cues)
        held = None  # clips go out one behind the scan: the last one takes the last cues
        for clip in scan(path, info, self.options, result):
            if held is not None:
                yield self._clip(path, rel, held, _take(cues, clip.start))
            held = clip
        if held is None:
            yield Failure(path, "corrupt_video", result.error or "no frame could be decoded")
            return
        yield self._clip(path, rel, held, cues)
        short = info.duration - result.decoded_until > max(0.5, 0.02 * info.duration)
        if result.error or short:
            where = f"{path}#t={result.decoded_until:g}"
            why = result.error or (
                f"frames stop at {result.decoded_until:.2f}s of {info.duration:.2f}s"
            )
            yield Failure(where, "truncated_video", why)
        meta = {
            "file": rel,
            **info.meta(),
            "clips": held.index + 1,
            "cuts": result.cuts,
            "decoded_until": result.decoded_until,
            "detector": self.detector,
            "max_clip_s": self.max_clip_s,
            **side.meta,
        }
        if side.cues:
            meta["subtitle_cues"] = len(side.cues)
        yield RawSample(
            key=rel,
            kind=VIDEO,
            slots=[media, *side.captions],
            langs=[None, *side.langs],
            source=self.source(path),
            meta=meta,
        )

    def _clip(self, path: str, rel: str, clip: Clip, cues: list[Cue]) -> RawSample:
        slots: list = [
            ImageInput(data=jpg, location=f"{path}#t={t:g}") for t, jpg in clip.keyframes
        ]
        times: list = [[t, t] for t, _ in clip.keyframes]
        slots += [c.text for c in cues]
        times += [[c.start, c.end] for c in cues]
        return RawSample(
            key=f"{rel}#c{clip.index}",
            kind=CLIP,
            slots=slots,
            source=self.source(fragment(path, clip.start, clip.end)),
            meta={
                "start": clip.start,
                "end": clip.end,
                "boundary": clip.boundary,
                "times": times,
                "file": rel,
            },
            parent_key=rel,
            position=clip.index,
        )


def _take(cues: list[Cue], before: float) -> list[Cue]:
    """Remove and return the (sorted) cues whose midpoint falls before ``before``."""
    n = 0
    while n < len(cues) and (cues[n].start + cues[n].end) / 2 < before:
        n += 1
    out = cues[:n]
    del cues[:n]
    return out

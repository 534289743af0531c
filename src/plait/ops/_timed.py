"""Sound and frames of time-based samples, for operators.

A clip's bytes are its parent video's, between ``meta.start`` and ``meta.end``;
a video or sound sample's are its own file. Files stored by reference are read
from their path (``source.uri`` without its media fragment) so a long recording
streams from disk; a sound copied into the media table is read from its bytes.
Measurements are cached per process by (file, span, settings), so a recipe
running ``black_frames``, ``static_frames`` and ``motion`` decodes a clip once.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from plait.av.timing import media_path, time_range
from plait.errors import ConfigError
from plait.ops.base import OpContext
from plait.schema import AUDIO, CLIP, VIDEO, Sample

TIMED_KINDS = (VIDEO, CLIP, AUDIO)


def check_kinds(kinds: list[str] | None, default: list[str], allowed: tuple[str, ...]) -> list[str]:
    """The ``kinds`` option of a time-based operator: which sample kinds it judges."""
    out = list(default if kinds is None else kinds)
    bad = sorted(set(out) - set(allowed))
    if bad:
        raise ConfigError(f"kinds must be among {', '.join(allowed)}, not {bad}")
    return out


@dataclass(slots=True)
class Span:
    """Where a sample's sound and frames are: a path (or bytes) and seconds in it."""

    source: str | bytes
    start: float
    end: float | None


def span(sample: Sample, ctx: OpContext) -> Span | None:
    """The sample's media and range; None for kinds without time or a missing file."""
    if sample.kind not in TIMED_KINDS:
        return None
    rng = time_range(sample) or (0.0, None)
    path = media_path(sample)
    if path and os.path.isfile(path):
        return Span(path, rng[0], rng[1])
    if sample.kind == AUDIO and sample.media_ids:  # copied into the corpus
        data = ctx.media(sample.media_ids[:1]).get(sample.media_ids[0])
        if data:
            return Span(data, rng[0], rng[1])
    return None


class _Cache:
    """A small per-process LRU of measurements."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._d: OrderedDict[Hashable, Any] = OrderedDict()

    def get(self, key: Hashable, make: Callable[[], Any]) -> Any:
        if key in self._d:
            self._d.move_to_end(key)
            return self._d[key]
        value = make()
        self._d[key] = value
        while len(self._d) > self.size:
            self._d.popitem(last=False)
        return value


CACHE = _Cache()


def _key(sp: Span, *extra: Hashable) -> Hashable:
    src = sp.source if isinstance(sp.source, str) else hash(sp.source)
    return (src, sp.start, sp.end, *extra)


def sampled_frames(sp: Span, fps: float, width: int) -> Iterator[tuple[float, np.ndarray]]:
    """Grey frames (uint8, ``width`` wide) at about ``fps`` per second over the span."""
    from plait.av.probe import av_module

    av = av_module()
    if not isinstance(sp.source, str):
        return
    container = av.open(sp.source)
    try:
        if not container.streams.video:
            return
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        t0 = float(stream.start_time * stream.time_base) if stream.start_time else 0.0
        if sp.start > 0:
            container.seek(int((sp.start + t0) / stream.time_base), stream=stream)
        h = None
        nxt = sp.start
        try:
            for frame in container.decode(stream):
                if frame.time is None:
                    continue
                t = float(frame.time) - t0
                if sp.end is not None and t >= sp.end:
                    break
                if t < nxt - 1e-6:
                    continue
                if h is None:
                    h = max(2, int(round(frame.height * width / max(frame.width, 1) / 2)) * 2)
                yield t, frame.to_ndarray(width=width, height=h, format="gray")
                nxt = t + 1.0 / fps
        except av.FFmpegError:
            return
    finally:
        container.close()


def levels(sp: Span, window_s: float, silence_db: float) -> dict[str, Any]:
    """Loudness and silence of the span's sound, streamed in chunks (flat memory):
    RMS and peak level (dBFS), and the fraction of ``window_s`` windows whose RMS
    is under ``silence_db``."""

    def make() -> dict[str, Any]:
        from plait.av.audio import RATE, iter_audio

        win = max(1, int(window_s * RATE))
        total = 0
        sq = 0.0
        peak = 0.0
        windows = silent = 0
        for chunk in iter_audio(sp.source, start=sp.start, end=sp.end, chunk_s=60.0):
            total += len(chunk)
            sq += float(np.square(chunk, dtype=np.float64).sum())
            peak = max(peak, float(np.abs(chunk).max(initial=0.0)))
            n = len(chunk) // win
            if n:
                w = np.square(chunk[: n * win], dtype=np.float64).reshape(n, win).mean(axis=1)
                silent += int((10 * np.log10(np.maximum(w, 1e-12)) < silence_db).sum())
                windows += n
        if not total:
            return {"has_audio": False}
        rms = (sq / total) ** 0.5
        return {
            "has_audio": True,
            "seconds": round(total / RATE, 3),
            "rms_db": round(20 * float(np.log10(max(rms, 1e-6))), 2),
            "peak_db": round(20 * float(np.log10(max(peak, 1e-6))), 2),
            "silent_fraction": round(silent / windows, 4) if windows else 1.0,
        }

    return CACHE.get(_key(sp, "levels", window_s, silence_db), make)

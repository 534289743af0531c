"""One decoding pass over a video: shot boundaries and keyframes, clip by clip.

Every frame is decoded (a cut can fall anywhere), shrunk by FFmpeg's scaler to
``detect_width`` pixels for the shot detector, and, at ``candidate_fps``,
also kept as a keyframe candidate of at most ``keyframe_side`` pixels. When a
clip closes, ``keyframes`` of its candidates spread evenly over it (its first
frame always among them) are JPEG-encoded. Only the open clip's candidates are
held, so memory is bounded by ``max_clip_s * candidate_fps`` small images
whatever the video's length.

A stream that stops decoding early (a truncated file whose index survived)
ends the scan: the clips decoded so far are returned and ``ScanResult.error``
says where it stopped.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from plait.av.probe import Probe, av_module
from plait.av.shots import ShotSplitter


@dataclass
class ScanOptions:
    detector: str = "content"
    threshold: float | None = None
    min_clip_s: float = 0.5
    max_clip_s: float = 20.0
    keyframes: int = 3  # per clip
    candidate_fps: float = 2.0
    keyframe_side: int = 512
    detect_width: int = 160
    jpeg_quality: int = 88
    threads: bool = True  # FFmpeg frame threading


@dataclass
class Clip:
    index: int
    start: float
    end: float
    boundary: str  # what started it: "start", "cut" or "split"
    keyframes: list[tuple[float, bytes]] = field(default_factory=list)


@dataclass
class ScanResult:
    frames: int = 0
    decoded_until: float = 0.0
    error: str | None = None
    cuts: list[float] = field(default_factory=list)


def check_options(opts: ScanOptions) -> None:
    """Raise ConfigError for options no scan could use (before any file is read)."""
    from plait.errors import ConfigError

    ShotSplitter(
        25.0, detector=opts.detector, min_clip_s=opts.min_clip_s, max_clip_s=opts.max_clip_s
    )
    if opts.keyframes < 1 or opts.keyframe_side < 16 or opts.detect_width < 16:
        raise ConfigError("need keyframes >= 1, keyframe_side >= 16 and detect_width >= 16")


class _Open:
    """The clip being read: its start and its keyframe candidates."""

    def __init__(self, index: int, start: float, boundary: str) -> None:
        self.index, self.start, self.boundary = index, start, boundary
        self.candidates: list[tuple[float, Any]] = []


def scan(path: str, probe: Probe, opts: ScanOptions, result: ScanResult) -> Iterator[Clip]:
    """Clips of ``path`` in order; fills ``result`` as it goes (see the module doc)."""
    av = av_module()
    fps = probe.fps or 25.0
    splitter = ShotSplitter(
        fps,
        detector=opts.detector,
        threshold=opts.threshold,
        min_clip_s=opts.min_clip_s,
        max_clip_s=opts.max_clip_s,
    )
    w, h = probe.width or 0, probe.height or 0
    dw = min(opts.detect_width, w) or opts.detect_width
    dh = max(2, int(round(h * dw / max(w, 1) / 2)) * 2)
    scale = min(1.0, opts.keyframe_side / max(w, h, 1))
    kw, kh = max(2, int(w * scale) // 2 * 2), max(2, int(h * scale) // 2 * 2)
    step = 1.0 / opts.candidate_fps if opts.candidate_fps > 0 else float("inf")
    container = av.open(path)
    try:
        stream = container.streams.video[0]
        if opts.threads:
            stream.thread_type = "AUTO"
        # MPEG program streams start their clock at ~0.5 s; players show 0, so do clips
        t0 = float(stream.start_time * stream.time_base) if stream.start_time else 0.0
        cur = _Open(0, 0.0, "start")
        next_candidate = 0.0
        last_t = 0.0
        n = 0
        try:
            for frame in container.decode(stream):
                t = max(float(frame.time) - t0 if frame.time is not None else n / fps, 0.0)
                n += 1
                small = frame.to_ndarray(width=dw, height=dh, format="bgr24")
                for b in splitter.push(t, small):
                    if b.kind == "cut":
                        result.cuts.append(b.time)
                    late = [c for c in cur.candidates if c[0] >= b.time]
                    yield _close(cur, b.time, opts)
                    cur = _Open(cur.index + 1, b.time, b.kind)
                    cur.candidates = late  # frames a late-reported cut put in the old clip
                    next_candidate = late[-1][0] + step if late else b.time
                if t >= next_candidate or not cur.candidates:
                    cur.candidates.append((t, frame.to_image(width=kw, height=kh)))
                    next_candidate = t + step
                last_t = t
        except av.FFmpegError as exc:
            result.error = f"decoding stopped at {last_t:.2f}s: {exc}"
        end = last_t + 1.0 / fps if n else 0.0
        for b in splitter.finish():
            if b.time < end:
                result.cuts.append(b.time)
                yield _close(cur, b.time, opts)
                cur = _Open(cur.index + 1, b.time, b.kind)
        result.frames, result.decoded_until = n, round(end, 3)
        if n and end > cur.start:
            yield _close(cur, end, opts)
    finally:
        container.close()


def _close(cur: _Open, end: float, opts: ScanOptions) -> Clip:
    """The finished clip: keyframes spread evenly over its candidates, JPEG-encoded.

    Candidates shown at or after ``end`` belong to the next clip (a detector may
    report a cut a few frames late); the caller hands them over.
    """
    cands = [c for c in cur.candidates if c[0] < end] or cur.candidates[:1]
    k = max(0, opts.keyframes)
    if len(cands) > k:
        idx = sorted({round(i * (len(cands) - 1) / max(k - 1, 1)) for i in range(k)})
        cands = [cands[i] for i in idx]
    frames = []
    for t, img in cands[:k]:
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=opts.jpeg_quality)
        frames.append((round(t, 3), buf.getvalue()))
    return Clip(cur.index, round(cur.start, 3), round(end, 3), cur.boundary, frames)

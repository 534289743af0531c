"""One decoding pass over a video: shot boundaries and keyframes, clip by clip.

Every frame is decoded (a cut can fall anywhere). The shot detector sees each
frame at about ``detect_width`` pixels: for 8-bit 4:2:0 video (nearly all of it)
that small picture is read straight out of the decoded planes by striding (no
scaler call, ~5 us a frame; FFmpeg's scaler took ~6 ms a frame at 720p, more
than the decode), other formats go through FFmpeg's scaler. Keyframe candidates
are taken every ``1 / candidate_fps`` seconds and kept as decoded frames, at most
``4 * keyframes`` per clip (when more arrive, every other one is dropped and the
interval doubles), so memory is bounded whatever the clip's length. When a clip
closes, ``keyframes`` of them spread evenly over it (its first frame always
among them) are scaled to ``keyframe_side`` and JPEG-encoded: a clip costs
``keyframes`` conversions, not one per candidate.

A stream that stops decoding early (a truncated file whose index survived)
ends the scan: the clips decoded so far are returned and ``ScanResult.error``
says where it stopped.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from plait.av.probe import Probe, av_module
from plait.av.shots import ShotSplitter
from plait.errors import ConfigError


@dataclass
class ScanOptions:
    detector: str = "content"
    threshold: float | None = None
    min_clip_s: float = 0.5
    max_clip_s: float = 20.0
    keyframes: int = 3  # per clip
    candidate_fps: float = 2.0
    keyframe_side: int = 512
    detect_width: int = 96  # the detector sees ~96 x 54: the same cuts as at 160 px, 3x less work
    detect_fps: float = 12.5  # frames per second the detector sees (cuts are refined to the frame)
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
    ShotSplitter(
        25.0, detector=opts.detector, min_clip_s=opts.min_clip_s, max_clip_s=opts.max_clip_s
    )
    if opts.keyframes < 1 or opts.keyframe_side < 16 or opts.detect_width < 16:
        raise ConfigError("need keyframes >= 1, keyframe_side >= 16 and detect_width >= 16")


class _Open:
    """The clip being read: its start and its keyframe candidates (decoded frames)."""

    def __init__(self, index: int, start: float, boundary: str, step: float) -> None:
        self.index, self.start, self.boundary = index, start, boundary
        self.candidates: list[tuple[float, Any]] = []
        self.step = step  # seconds between candidates; doubles as they are thinned
        self.next = start

    def offer(self, t: float, frame: Any, cap: int) -> None:
        if self.candidates and t < self.next:
            return
        self.candidates.append((t, frame))
        self.next = t + self.step
        if len(self.candidates) > cap:
            self.candidates = self.candidates[::2]
            self.step *= 2
            self.next = self.candidates[-1][0] + self.step


class _Small:
    """The detector's small BGR picture of a frame."""

    def __init__(self, width: int, height: int, dw: int) -> None:
        # luma stride, at least 2 so that chroma strides by k // 2 >= 1 (a frame under
        # 2 * dw wide is seen at half its width: still more than the detector needs)
        self.k = max(2, width // max(dw, 1))
        self.width, self.height = dw, max(2, int(round(height * dw / max(width, 1) / 2)) * 2)
        import cv2

        self.cv2 = cv2
        self.fast: bool | None = None

    def __call__(self, frame: Any) -> np.ndarray:
        if self.fast is None:  # a stream keeps its pixel format (reading it costs ~25 us)
            self.fast = frame.format.name in ("yuv420p", "yuvj420p") and frame.width >= 32
        if self.fast:
            k, c = self.k, self.k // 2
            planes = frame.planes
            y = _plane(planes[0])[::k, ::k]
            u = _plane(planes[1])[::c, ::c]
            v = _plane(planes[2])[::c, ::c]
            hh, ww = (
                min(y.shape[0], u.shape[0], v.shape[0]),
                min(y.shape[1], u.shape[1], v.shape[1]),
            )
            yuv = np.empty((hh, ww, 3), np.uint8)
            yuv[..., 0], yuv[..., 1], yuv[..., 2] = y[:hh, :ww], u[:hh, :ww], v[:hh, :ww]
            return self.cv2.cvtColor(yuv, self.cv2.COLOR_YUV2BGR)
        return frame.to_ndarray(
            width=self.width, height=self.height, format="bgr24", interpolation="POINT"
        )


def _plane(plane: Any) -> np.ndarray:
    """A decoded plane as a (height, width) uint8 view (its rows padded to line_size)."""
    a = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
    return a[:, : plane.width]


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
        every=max(1, round(fps / opts.detect_fps)) if opts.detect_fps > 0 else 1,
    )
    w, h = probe.width or 0, probe.height or 0
    small = _Small(w, h, min(opts.detect_width, w) or opts.detect_width)
    scale = min(1.0, opts.keyframe_side / max(w, h, 1))
    size = (max(2, int(w * scale) // 2 * 2), max(2, int(h * scale) // 2 * 2))
    step = 1.0 / opts.candidate_fps if opts.candidate_fps > 0 else float("inf")
    cap = 4 * max(1, opts.keyframes)
    container = probe.take()
    if container is None:
        container = av.open(path)
    try:
        stream = container.streams.video[0]
        if opts.threads:
            stream.thread_type = "AUTO"
        # MPEG program streams start their clock at ~0.5 s; players show 0, so do clips
        t0 = float(stream.start_time * stream.time_base) if stream.start_time else 0.0
        cur = _Open(0, 0.0, "start", step)
        last_t = 0.0
        n = 0
        try:
            for frame in container.decode(stream):
                t = max(float(frame.time) - t0 if frame.time is not None else n / fps, 0.0)
                n += 1
                pic = small(frame) if splitter.sees_next() else functools.partial(small, frame)
                for b in splitter.push(t, pic):
                    if b.kind == "cut":
                        result.cuts.append(b.time)
                    late = [c for c in cur.candidates if c[0] >= b.time]
                    yield _close(cur, b.time, size, opts)
                    cur = _Open(cur.index + 1, b.time, b.kind, step)
                    for lt, lf in late:  # frames a late-reported cut put in the old clip
                        cur.offer(lt, lf, cap)
                cur.offer(t, frame, cap)
                last_t = t
        except av.FFmpegError as exc:
            result.error = f"decoding stopped at {last_t:.2f}s: {exc}"
        end = last_t + 1.0 / fps if n else 0.0
        for b in splitter.finish():
            if b.time < end:
                result.cuts.append(b.time)
                late = [c for c in cur.candidates if c[0] >= b.time]
                yield _close(cur, b.time, size, opts)
                cur = _Open(cur.index + 1, b.time, b.kind, step)
                for lt, lf in late:
                    cur.offer(lt, lf, cap)
        result.frames, result.decoded_until = n, round(end, 3)
        if n and end > cur.start:
            yield _close(cur, end, size, opts)
    finally:
        container.close()


def _close(cur: _Open, end: float, size: tuple[int, int], opts: ScanOptions) -> Clip:
    """The finished clip: keyframes spread evenly over its candidates, scaled and
    JPEG-encoded. Candidates shown at or after ``end`` belong to the next clip (a
    detector may report a cut a few frames late); the caller hands them over."""
    cands = [c for c in cur.candidates if c[0] < end] or cur.candidates[:1]
    k = max(0, opts.keyframes)
    if len(cands) > k:
        idx = sorted({round(i * (len(cands) - 1) / max(k - 1, 1)) for i in range(k)})
        cands = [cands[i] for i in idx]
    frames = []
    for t, frame in cands[:k]:
        buf = io.BytesIO()
        frame.to_image(width=size[0], height=size[1]).save(
            buf, format="JPEG", quality=opts.jpeg_quality
        )
        frames.append((round(t, 3), buf.getvalue()))
    return Clip(cur.index, round(cur.start, 3), round(end, 3), cur.boundary, frames)

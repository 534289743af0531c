"""Black, frozen and (too) still or shaky video: measured on sampled small frames.

One measurement serves three filters (and is cached, so a recipe with all three
decodes each clip once): frames are sampled at ``fps`` per second, ``width``
pixels wide, in grey. A frame is *black* when its mean level is under 16 (of
255, video black); a frame is *static* when under 0.2% of its pixels differ from
the previous sample by more than 10 levels (codec noise stays under that, a small
object moving does not); *motion* is the mean dense optical-flow speed
(OpenCV's Farneback, as Data-Juicer's motion score) in frame widths per second,
so it does not depend on resolution or sampling rate. ``kinds`` says which
samples are judged (clips by default; ``video`` judges whole files); others, and
samples without video (sounds, a missing file), get ``None`` stats and are kept.
"""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np

from plait.errors import ConfigError
from plait.ops._timed import CACHE, Span, _key, check_kinds, sampled_frames, span
from plait.ops.base import DROP, Filter, OpContext
from plait.schema import CLIP, VIDEO, Sample

BLACK_LEVEL = 16.0
CHANGED_LEVEL = 10
STATIC_CHANGED = 0.002


def frame_signal(sp: Span, fps: float = 2.0, width: int = 64) -> dict[str, Any]:
    """``frames``, ``black_fraction``, ``static_fraction`` and ``motion`` of a span."""

    def make() -> dict[str, Any]:
        cv2: Any = None  # optional: frame differences still give black and static
        with contextlib.suppress(ImportError):
            import cv2
        n = black = static = 0
        speeds: list[float] = []
        prev: np.ndarray | None = None
        prev_t = 0.0
        for t, g in sampled_frames(sp, fps, width):
            n += 1
            black += float(g.mean()) < BLACK_LEVEL
            if prev is not None and prev.shape == g.shape:
                changed = float((np.abs(g.astype(np.int16) - prev) > CHANGED_LEVEL).mean())
                static += changed < STATIC_CHANGED
                if cv2 is not None and t > prev_t:
                    flow = cv2.calcOpticalFlowFarneback(prev, g, None, 0.5, 3, 9, 3, 5, 1.1, 0)
                    mag = float(np.sqrt((flow**2).sum(axis=2)).mean())
                    speeds.append(mag / g.shape[1] / (t - prev_t))
            prev, prev_t = g, t
        if not n:
            return {"frames": 0}
        pairs = max(n - 1, 1)
        return {
            "frames": n,
            "black_fraction": round(black / n, 4),
            "static_fraction": round(static / pairs, 4) if n > 1 else 0.0,
            "motion": round(float(np.mean(speeds)), 5) if speeds else 0.0,
        }

    return CACHE.get(_key(sp, "frames", fps, width), make)


class _FrameFilter(Filter):
    stat = ""

    def __init__(
        self, fps: float = 2.0, width: int = 64, kinds: list[str] | None = None, mode: str = DROP
    ) -> None:
        super().__init__(mode)
        if fps <= 0 or not 16 <= width <= 512:
            raise ConfigError("need fps > 0 and 16 <= width <= 512")
        self.fps, self.width = fps, width
        self.kinds = check_kinds(kinds, [CLIP], (VIDEO, CLIP))

    def score(self, batch: list[Sample], ctx: OpContext) -> list[dict[str, Any]]:
        out = []
        for s in batch:
            sp = span(s, ctx) if s.kind in self.kinds else None
            sig = frame_signal(sp, self.fps, self.width) if sp is not None else {}
            out.append({self.stat: sig.get(self.stat)})
        return out


class _TooMuch(_FrameFilter):
    """A frame statistic whose share above ``max_fraction`` drops the sample for ``stat``'s
    reason (each subclass's constructor stays its own: it is the recipe schema)."""

    reason = ""

    def _limit(self, max_fraction: float) -> None:
        if not 0 <= max_fraction <= 1:
            raise ConfigError("max_fraction must be in [0, 1]")
        self.max_fraction = max_fraction

    def keep(self, sample: Sample, stats: dict[str, Any]) -> str | None:
        v = stats.get(self.stat)
        return self.reason if v is not None and v > self.max_fraction else None


class BlackFrames(_TooMuch):
    """Drop clips or videos that are mostly black (fades, dead air, lens caps).

    Writes ``black_fraction`` (of sampled frames under level 16); reason
    ``black_frames`` above ``max_fraction``.
    """

    name = reason = "black_frames"
    stat = "black_fraction"
    example = {"max_fraction": 0.5}

    def __init__(
        self,
        max_fraction: float = 0.5,
        fps: float = 2.0,
        width: int = 64,
        kinds: list[str] | None = None,
        mode: str = DROP,
    ) -> None:
        super().__init__(fps, width, kinds, mode)
        self._limit(max_fraction)


class StaticFrames(_TooMuch):
    """Drop clips or videos whose picture is frozen (slides, still images, stalls).

    Writes ``static_fraction`` (of consecutive samples differing by under one level);
    reason ``static_frames`` above ``max_fraction``.
    """

    name = reason = "static_frames"
    stat = "static_fraction"
    example = {"max_fraction": 0.9}

    def __init__(
        self,
        max_fraction: float = 0.9,
        fps: float = 2.0,
        width: int = 64,
        kinds: list[str] | None = None,
        mode: str = DROP,
    ) -> None:
        super().__init__(fps, width, kinds, mode)
        self._limit(max_fraction)


class Motion(_FrameFilter):
    """Keep clips whose motion lies in a range (too still or too shaky to learn from).

    Writes ``motion``: mean optical-flow speed in frame widths per second (a pan
    across the frame in 4 s is 0.25); reasons ``low_motion`` and ``high_motion``.
    """

    name = "motion"
    stat = "motion"
    example = {"min_motion": 0.005}

    def __init__(
        self,
        min_motion: float = 0.0,
        max_motion: float | None = None,
        fps: float = 2.0,
        width: int = 64,
        kinds: list[str] | None = None,
        mode: str = DROP,
    ) -> None:
        super().__init__(fps, width, kinds, mode)
        if min_motion < 0 or (max_motion is not None and max_motion < min_motion):
            raise ConfigError("need 0 <= min_motion <= max_motion")
        self.min_motion, self.max_motion = min_motion, max_motion

    def keep(self, sample: Sample, stats: dict[str, Any]) -> str | None:
        v = stats.get(self.stat)
        if v is None:
            return None
        if v < self.min_motion:
            return "low_motion"
        if self.max_motion is not None and v > self.max_motion:
            return "high_motion"
        return None

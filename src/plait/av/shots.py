"""Shot boundaries and clip limits, pushed one small frame at a time.

A :class:`ShotSplitter` wraps a shot detector (``content``: HSV frame-difference,
PySceneDetect's algorithm in :mod:`plait.av.content`; ``adaptive``: PySceneDetect's
same score against a rolling average; ``none``: fixed-length clips only) and adds
what a training corpus needs on top, as the Panda-70M pipeline does: a shot longer than ``max_clip_s`` is cut into clips of
at most that length (boundary ``split``, not ``cut``), and a cut closer than
``min_clip_s`` to the previous boundary is ignored. It never holds frames; it
only turns frame times into boundaries, so memory is flat in the video length.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from plait._deps import require
from plait.errors import ConfigError

DETECTORS = ("content", "adaptive", "none")


@dataclass(slots=True)
class Boundary:
    """The start of a new clip at ``time`` seconds; ``kind`` is ``cut`` or ``split``."""

    time: float
    kind: str


class ShotSplitter:
    def __init__(
        self,
        fps: float,
        *,
        detector: str = "content",
        threshold: float | None = None,
        min_clip_s: float = 0.5,
        max_clip_s: float = 20.0,
        every: int = 1,
    ) -> None:
        if detector not in DETECTORS:
            raise ConfigError(f"detector must be one of {', '.join(DETECTORS)}, not {detector!r}")
        if max_clip_s <= 0 or min_clip_s < 0 or min_clip_s >= max_clip_s:
            raise ConfigError("need 0 <= min_clip_s < max_clip_s")
        self.fps = fps if fps and fps > 0 else 25.0
        self.min_clip_s, self.max_clip_s = min_clip_s, max_clip_s
        self._det = _detector(detector, threshold, self.fps, min_clip_s)
        self.every = max(1, int(every))
        self._n = 0
        self._last = 0.0  # time of the last boundary (the current clip's start)
        self._fed: Any = None  # the last frame the detector saw
        self._between: list[tuple[float, Any]] = []  # frames decoded since, not shown to it

    def sees_next(self) -> bool:
        """Whether the detector looks at the next frame pushed (else a zero-argument
        callable that makes the picture will do: it is called only to refine a cut)."""
        return self._det is not None and self._n % self.every == 0

    def push(self, time: float, frame: Any) -> list[Boundary]:
        """Feed the next frame (BGR uint8, any small size) shown at ``time`` seconds.

        With ``every`` > 1 the detector sees every ``every``-th frame (its per-frame
        cost is Python's, not the pixels'); a cut it finds is moved back to the first
        frame in between that looks more like the new shot than the old one, so cuts
        stay frame-exact."""
        out: list[Boundary] = []
        if self._det is not None and self._n % self.every:
            self._between.append((time, frame))
        elif self._det is not None:
            for cut in self._det.push(self._n, frame):
                at = cut / self.fps
                if cut == self._n:  # reported at this frame: find where between it fell
                    at = self._refine(at, frame)
                self._cut(at, out)
            self._fed, self._between = frame, []
        self._n += 1
        while time - self._last >= self.max_clip_s:
            self._last += self.max_clip_s
            out.append(Boundary(round(self._last, 3), "split"))
        return out

    def finish(self) -> list[Boundary]:
        """Cuts the detector was still holding back at the end of the video."""
        out: list[Boundary] = []
        if self._det is not None and self._n:
            for cut in self._det.finish(self._n):
                self._cut(cut / self.fps, out)
        return out

    def _refine(self, at: float, frame: Any) -> float:
        if self._fed is None:
            return at
        for t, between in self._between:
            pic = between() if callable(between) else between
            if _distance(pic, frame) < _distance(pic, self._fed):
                return t
        return at

    def _cut(self, t: float, out: list[Boundary]) -> None:
        if t - self._last >= self.min_clip_s:
            self._last = t
            out.append(Boundary(round(t, 3), "cut"))


def _distance(a: Any, b: Any) -> float:
    import numpy as np

    return float(np.abs(a.astype(np.int16) - b).mean())


def _detector(name: str, threshold: float | None, fps: float, min_clip_s: float) -> Any:
    if name == "none":
        return None
    min_len = max(1, int(round(min_clip_s * fps)))
    if name == "content":
        from plait.av.content import ContentCuts

        return ContentCuts(27.0 if threshold is None else threshold, min_len)
    require("scenedetect", "video", "shot detection", package="scenedetect")
    from scenedetect.detectors import AdaptiveDetector

    return _SceneDetect(
        AdaptiveDetector(
            adaptive_threshold=3.0 if threshold is None else threshold, min_scene_len=min_len
        ),
        fps,
    )


class _SceneDetect:
    """A PySceneDetect detector behind the frame-number interface of ContentCuts."""

    def __init__(self, detector: Any, fps: float) -> None:
        self.detector, self.fps = detector, fps

    def push(self, n: int, frame: Any) -> list[int]:
        from scenedetect.common import FrameTimecode

        found = self.detector.process_frame(FrameTimecode(n, self.fps), frame)
        return [int(tc.frame_num) for tc in found]

    def finish(self, n: int) -> list[int]:
        from scenedetect.common import FrameTimecode

        return [int(tc.frame_num) for tc in self.detector.post_process(FrameTimecode(n, self.fps))]


def boundary_scores(found: list[float], truth: list[float], tolerance: float = 0.5) -> dict:
    """Precision, recall and F1 of detected cut times against known ones, each known cut
    matched at most once within ``tolerance`` seconds (greedy by distance)."""
    pairs = sorted((abs(f - t), i, j) for i, f in enumerate(found) for j, t in enumerate(truth))
    used_f: set[int] = set()
    used_t: set[int] = set()
    for d, i, j in pairs:
        if d <= tolerance and i not in used_f and j not in used_t:
            used_f.add(i)
            used_t.add(j)
    tp = len(used_t)
    p = tp / len(found) if found else (1.0 if not truth else 0.0)
    r = tp / len(truth) if truth else 1.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f1, "matched": tp}

"""Clip, video and sound duration (Panda-70M and WebVid keep clips of a few seconds)."""

from __future__ import annotations

from typing import Any

from plait.av.timing import time_range
from plait.errors import ConfigError
from plait.ops._timed import check_kinds
from plait.ops.base import DROP, Filter, OpContext
from plait.schema import AUDIO, CLIP, VIDEO, Sample


class Duration(Filter):
    """Drop clips and sounds shorter than ``min_s`` or longer than ``max_s``.

    Writes ``duration_s`` (a clip's end minus start; None for kinds not in
    ``kinds``, which are kept); reasons ``too_short`` and ``too_long``.
    """

    name = "clip_duration"
    example = {"min_s": 1.0, "max_s": 60.0}

    def __init__(
        self,
        min_s: float = 0.0,
        max_s: float | None = None,
        kinds: list[str] | None = None,
        mode: str = DROP,
    ) -> None:
        super().__init__(mode)
        if min_s < 0 or (max_s is not None and max_s < min_s):
            raise ConfigError("need 0 <= min_s <= max_s")
        self.min_s, self.max_s = min_s, max_s
        self.kinds = check_kinds(kinds, [CLIP, AUDIO], (VIDEO, CLIP, AUDIO))

    def score(self, batch: list[Sample], ctx: OpContext) -> list[dict[str, Any]]:
        out = []
        for s in batch:
            rng = time_range(s) if s.kind in self.kinds else None
            out.append({"duration_s": None if rng is None else round(rng[1] - rng[0], 3)})
        return out

    def keep(self, sample: Sample, stats: dict[str, Any]) -> str | None:
        d = stats.get("duration_s")
        if d is None:
            return None
        if d < self.min_s:
            return "too_short"
        if self.max_s is not None and d > self.max_s:
            return "too_long"
        return None

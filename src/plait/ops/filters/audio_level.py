"""Silent and too quiet or clipped sound: levels streamed in chunks (flat memory).

One measurement (cached per process) serves both filters: the RMS and peak level
in dBFS over the whole span, and the fraction of 100 ms windows under
``silence_db``. A clip is measured on its parent video's sound track; a video
without one gets ``has_audio: false`` and is kept (judge it with the frame filters).
"""

from __future__ import annotations

from typing import Any

from plait.errors import ConfigError
from plait.ops._timed import TIMED_KINDS, check_kinds, levels, span
from plait.ops.base import DROP, Filter, OpContext
from plait.schema import AUDIO, CLIP, Sample

WINDOW_S = 0.1


class _LevelFilter(Filter):
    keys: tuple[str, ...] = ()

    def __init__(
        self, silence_db: float = -50.0, kinds: list[str] | None = None, mode: str = DROP
    ) -> None:
        super().__init__(mode)
        if not -120 <= silence_db <= 0:
            raise ConfigError("silence_db must be in [-120, 0] dBFS")
        self.silence_db = silence_db
        self.kinds = check_kinds(kinds, [AUDIO, CLIP], TIMED_KINDS)

    def score(self, batch: list[Sample], ctx: OpContext) -> list[dict[str, Any]]:
        out = []
        for s in batch:
            sp = span(s, ctx) if s.kind in self.kinds else None
            got = levels(sp, WINDOW_S, self.silence_db) if sp is not None else {}
            out.append({k: got.get(k) for k in self.keys})
        return out


class Silence(_LevelFilter):
    """Drop sounds and clips that are mostly silence.

    Writes ``silent_fraction`` (of 100 ms windows under ``silence_db`` dBFS) and
    ``has_audio``; reason ``silent`` above ``max_fraction``.
    """

    name = "audio_silence"
    keys = ("silent_fraction", "has_audio")
    example = {"max_fraction": 0.9}

    def __init__(
        self,
        max_fraction: float = 0.9,
        silence_db: float = -50.0,
        kinds: list[str] | None = None,
        mode: str = DROP,
    ) -> None:
        super().__init__(silence_db, kinds, mode)
        if not 0 <= max_fraction <= 1:
            raise ConfigError("max_fraction must be in [0, 1]")
        self.max_fraction = max_fraction

    def keep(self, sample: Sample, stats: dict[str, Any]) -> str | None:
        v = stats.get("silent_fraction")
        return "silent" if v is not None and v > self.max_fraction else None


class Loudness(_LevelFilter):
    """Keep sounds and clips whose level lies in a range.

    Writes ``rms_db`` and ``peak_db`` (dBFS, after resampling to 16 kHz, which can
    ring a little over full scale); reasons ``too_quiet`` (RMS under ``min_db``),
    ``too_loud`` (over ``max_db``) and, when ``max_peak_db`` is set, ``too_peaky``.
    """

    name = "audio_loudness"
    keys = ("rms_db", "peak_db", "has_audio")
    example = {"min_db": -45.0}

    def __init__(
        self,
        min_db: float = -60.0,
        max_db: float = 0.0,
        max_peak_db: float | None = None,
        silence_db: float = -50.0,
        kinds: list[str] | None = None,
        mode: str = DROP,
    ) -> None:
        super().__init__(silence_db, kinds, mode)
        if min_db > max_db:
            raise ConfigError("need min_db <= max_db")
        self.min_db, self.max_db, self.max_peak_db = min_db, max_db, max_peak_db

    def keep(self, sample: Sample, stats: dict[str, Any]) -> str | None:
        rms, peak = stats.get("rms_db"), stats.get("peak_db")
        if rms is None:
            return None
        if rms < self.min_db:
            return "too_quiet"
        if rms > self.max_db:
            return "too_loud"
        if self.max_peak_db is not None and peak is not None and peak > self.max_peak_db:
            return "too_peaky"
        return None

"""Where a time-based sample sits in its file, and the time range of each slot.

A clip's range is ``meta.start``/``meta.end`` (seconds in its parent video); its
``source.uri`` is the file with a W3C media fragment, ``/v/a.mp4#t=1.2,3.04``,
so anything holding a clip can open the right bytes at the right time.

Per-slot times (a keyframe's instant, a subtitle or transcript line's span)
live in two places because ``meta`` is what the input said and never changes:
the reader's in ``meta.times`` (a list aligned with the slots as ingested) and
an operator's in ``stats.times`` (``{"slot": [start, end]}`` for slots it
added). :func:`slot_times` merges them; nothing else should read either key.
"""

from __future__ import annotations

import re
from typing import Any

from plait.schema import AUDIO, CLIP, VIDEO, Sample

_FRAGMENT = re.compile(r"#t=([0-9.]*)(?:,([0-9.]*))?$")
Span = tuple[float, float]


def fragment(path: str, start: float, end: float) -> str:
    return f"{path}#t={start:g},{end:g}"


def split_fragment(uri: str) -> tuple[str, float | None, float | None]:
    """``(path, start, end)`` of ``path#t=start,end`` (missing parts are None)."""
    m = _FRAGMENT.search(uri)
    if m is None:
        return uri, None, None
    start = float(m.group(1)) if m.group(1) else None
    end = float(m.group(2)) if m.group(2) else None
    return uri[: m.start()], start, end


def time_range(sample: Sample) -> Span | None:
    """The sample's span in its file: a clip's ``[start, end)``, a whole video or sound's
    ``[0, duration)``, None for other kinds."""
    if sample.kind == CLIP:
        start, end = sample.meta.get("start"), sample.meta.get("end")
        return None if start is None or end is None else (float(start), float(end))
    if sample.kind in (VIDEO, AUDIO):
        dur = sample.meta.get("duration")
        return None if dur is None else (0.0, float(dur))
    return None


def media_path(sample: Sample) -> str:
    """The local file a time-based sample's bytes come from (a clip's parent video)."""
    return split_fragment(sample.source.uri)[0]


def slot_times(sample: Sample) -> list[Span | None]:
    """One entry per slot: its ``(start, end)`` in seconds, or None when it has no time."""
    n = len(sample.texts)
    out: list[Span | None] = [None] * n
    for i, t in enumerate((sample.meta.get("times") or [])[:n]):
        out[i] = _span(t)
    for key, t in (sample.stats.get("times") or {}).items():
        if str(key).isdigit() and int(key) < n:
            out[int(key)] = _span(t)
    return out


def hit_time(sample: Sample, slot: int | None) -> Span | None:
    """Where a search hit on ``slot`` of ``sample`` is in its file: the slot's own span
    when it has one (a keyframe's instant gives way to its clip's range), else the
    sample's range; None for samples without time."""
    if slot is not None and 0 <= slot < len(sample.texts):
        t = slot_times(sample)[slot]
        if t is not None and t[1] > t[0]:
            return t
    return time_range(sample)


def add_slot_times(stats: dict[str, Any], spans: dict[int, Span]) -> None:
    """Record the times of slots an operator added (see the module doc)."""
    times = dict(stats.get("times") or {})
    times.update({str(i): [round(a, 3), round(b, 3)] for i, (a, b) in spans.items()})
    stats["times"] = times


def _span(value: Any) -> Span | None:
    if isinstance(value, (list, tuple)) and len(value) == 2 and None not in value:
        return float(value[0]), float(value[1])
    return None

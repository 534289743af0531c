"""SubRip (``.srt``) and WebVTT (``.vtt``) cues: start, end and text.

Both formats are a blank-line separated list of blocks holding one
``HH:MM:SS,mmm --> HH:MM:SS,mmm`` line (VTT: ``.`` before the milliseconds,
hours optional, settings after the end time) and the cue's text lines. Tags
(``<i>``, ``<c.yellow>``, ``{\\an8}``) are removed; a block without a valid timing
line is skipped and counted, never fatal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SUBTITLE_EXTS = (".srt", ".vtt")
_TIME = r"(?:(\d{1,2}):)?(\d{1,2}):(\d{2})[.,](\d{1,3})"
_TIMING = re.compile(rf"^\s*{_TIME}\s*-->\s*{_TIME}")
_TAG = re.compile(r"<[^>]*>|\{\\[^}]*\}")


@dataclass(slots=True)
class Cue:
    start: float
    end: float
    text: str


def _seconds(h: str | None, m: str, s: str, ms: str) -> float:
    return int(h or 0) * 3600 + int(m) * 60 + int(s) + int(ms.ljust(3, "0")) / 1000


def parse_subtitles(text: str) -> tuple[list[Cue], int]:
    """``(cues sorted by start, blocks skipped)`` from SRT or VTT text."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    cues: list[Cue] = []
    skipped = 0
    for block in re.split(r"\n\s*\n", text):
        lines = [ln for ln in block.split("\n") if ln.strip()]
        if not lines or lines[0].startswith(("WEBVTT", "NOTE", "STYLE", "REGION")):
            continue
        at = next((i for i, ln in enumerate(lines) if "-->" in ln), None)
        m = _TIMING.match(lines[at]) if at is not None else None
        if m is None:
            skipped += 1
            continue
        g = m.groups()
        start, end = _seconds(*g[:4]), _seconds(*g[4:])
        assert at is not None  # m is None without a timing line
        body = " ".join(_TAG.sub("", ln).strip() for ln in lines[at + 1 :]).strip()
        if not body or end < start:
            skipped += 1
            continue
        cues.append(Cue(round(start, 3), round(end, 3), body))
    cues.sort(key=lambda c: (c.start, c.end))
    return cues, skipped

"""What a model answered, made into a caption or refused with a reason.

Small models wrap their answer ("Rewritten caption: ...", quotes, a second line of
commentary), stop mid-sentence at the token limit, repeat the input or echo the
prompt. :func:`clean_caption` keeps the caption and refuses, with a reason code that
the run counts, anything that is not one: never an empty caption.
"""

from __future__ import annotations

import re

from plait.generators.base import ABSTAIN

_LABEL = re.compile(
    r"^\s*(?:(?:the\s+)?(?:new|rewritten|rewrite|improved|final|generated)?\s*"
    r"(?:caption|answer|output|sentence|description)\s*(?:is)?\s*[:\-]\s*)",
    re.IGNORECASE,
)
_ECHO = re.compile(
    r"\b(?:original|rewritten|new) caption\b|\balt-text\b|\btext in the image\b|"
    r"\bobjects seen\b|\bas an ai\b",
    re.IGNORECASE,
)
_QUOTES = "\"'`*“”‘’"
_WS = re.compile(r"\s+")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_END = re.compile(r"[.!?](?=\s|$)")


def normalise(text: str) -> str:
    """Lower case words only: two captions that differ in case, spacing or punctuation
    are the same caption."""
    return " ".join(_WORD.findall(text.lower()))


def clean_caption(
    text: str,
    finish: str = "stop",
    *,
    source: str | None = None,
    min_words: int = 3,
    max_words: int = 60,
) -> tuple[str | None, str | None]:
    """(caption, None) or (None, reason). Reasons: ``abstained``, ``empty``,
    ``echoed_prompt``, ``truncated``, ``too_short``, ``too_long``, ``unchanged`` (the
    same words as ``source``)."""
    raw = text.strip()
    if raw == ABSTAIN:
        return None, "abstained"
    lines = [ln.strip() for ln in raw.splitlines() if ln.strip()]
    if not lines:
        return None, "empty"
    cap = lines[0]
    for _ in range(3):
        new = _LABEL.sub("", cap).strip().strip(_QUOTES).strip()
        if new == cap:
            break
        cap = new
    cap = _WS.sub(" ", cap).strip()
    if not cap:
        return None, "empty"
    if _ECHO.search(cap):
        return None, "echoed_prompt"
    if finish == "length" and len(lines) == 1:
        ends = list(_END.finditer(cap))
        if not ends:
            return None, "truncated"
        cap = cap[: ends[-1].end()]
    words = len(_WORD.findall(cap))
    if words < min_words:
        return None, "too_short"
    if words > max_words:
        return None, "too_long"
    if source is not None and normalise(cap) == normalise(source):
        return None, "unchanged"
    return cap, None


def parse_score(text: str, low: int = 1, high: int = 5) -> int | None:
    """The first whole number in ``[low, high]`` the answer gives, else None."""
    for m in re.finditer(r"\d+", text):
        v = int(m.group())
        if low <= v <= high:
            return v
    return None

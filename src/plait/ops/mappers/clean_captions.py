"""Caption cleaning: the example Mapper."""

from __future__ import annotations

import html
import re

from plait.ops.base import Mapper, OpContext
from plait.schema import Sample

_TAG = re.compile(r"<[^>]{0,200}>")
_WS = re.compile(r"\s+")


def clean(text: str, strip_tags: bool = True) -> str:
    """Unescape HTML entities (twice, for double-escaped crawls), drop tags, collapse whitespace."""
    text = html.unescape(html.unescape(text))
    if strip_tags:
        text = _TAG.sub(" ", text)
    return _WS.sub(" ", text).strip()


class CleanCaptions(Mapper):
    """Rewrite every text slot: HTML entities decoded, tags removed, whitespace collapsed.

    A text that becomes empty is kept as "" (the slot stays a text slot). Writes
    ``captions_cleaned`` (how many slots changed) to stats.
    """

    name = "clean_captions"
    example = {"strip_tags": True}

    def __init__(self, strip_tags: bool = True) -> None:
        self.strip_tags = strip_tags

    def map(self, batch: list[Sample], ctx: OpContext) -> list[Sample]:
        for s in batch:
            changed = 0
            for i, t in enumerate(s.texts):
                if t is None:
                    continue
                new = clean(t, self.strip_tags)
                if new != t:
                    s.texts[i] = new
                    changed += 1
            s.stats["captions_cleaned"] = changed
        return batch

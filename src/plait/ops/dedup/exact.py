"""Exact deduplication: by media sha256 (the media id) and by normalised text."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from typing import Any

from plait.ops.base import DROP, Deduplicator, OpContext, check_mode
from plait.schema import Sample

_PUNCT_WS = re.compile(r"[\W_]+")


def normalise_text(text: str) -> str:
    """Lowercase, Unicode NFKC, every run of punctuation/whitespace collapsed to one space."""
    return _PUNCT_WS.sub(" ", unicodedata.normalize("NFKC", text).lower()).strip()


def first_wins(items: list[tuple[str, Any]], prefix: str = "duplicate_of") -> dict[str, str]:
    """Group equal fingerprints; in sample id order the first is kept, the rest name it."""
    kept: dict[Any, str] = {}
    out: dict[str, str] = {}
    for sid, fp in sorted(items, key=lambda it: it[0]):
        if fp is None:
            continue
        if fp in kept:
            out[sid] = f"{prefix}:{kept[fp]}"
        else:
            kept[fp] = sid
    return out


class ExactMediaDedup(Deduplicator):
    """Drop samples whose images are byte-identical to an earlier sample's.

    The fingerprint is the sample's media ids (sha256 of the bytes) in slot order;
    reason ``duplicate_of:<kept id>``. Samples without images are kept.
    """

    name = "dedup_media"

    def __init__(self, mode: str = DROP) -> None:
        self.mode = check_mode(mode)

    def fingerprint(self, batch: list[Sample], ctx: OpContext) -> list[Any]:
        return [tuple(s.media_ids) or None for s in batch]

    def resolve(self, items: list[tuple[str, Any]]) -> dict[str, str]:
        return first_wins(items)


class ExactTextDedup(Deduplicator):
    """Drop samples whose normalised text equals an earlier sample's.

    Normalisation: NFKC, lowercase, punctuation and whitespace collapsed. With
    ``include_images`` the media ids join the key (same caption, other image: kept).
    Reason ``duplicate_of:<kept id>``. Samples without text are kept.
    """

    name = "dedup_text"
    example = {"include_images": False}

    def __init__(self, include_images: bool = False, mode: str = DROP) -> None:
        self.include_images = include_images
        self.mode = check_mode(mode)

    def fingerprint(self, batch: list[Sample], ctx: OpContext) -> list[Any]:
        out: list[Any] = []
        for s in batch:
            norm = normalise_text(s.text)
            if not norm:
                out.append(None)
                continue
            key = norm + ("\x00" + ",".join(s.media_ids) if self.include_images else "")
            out.append(hashlib.blake2b(key.encode(), digest_size=16).hexdigest())
        return out

    def resolve(self, items: list[tuple[str, Any]]) -> dict[str, str]:
        return first_wins(items)

"""Media access for operators: image headers and decoded images from ``ctx.media``."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from plait.ops.base import OpContext
from plait.schema import Sample


@dataclass(slots=True)
class Header:
    mime: str
    width: int | None
    height: int | None


def media_ids(batch: list[Sample]) -> list[str]:
    """The batch's image media ids (a video's or a sound's own file is not an image)."""
    return list(dict.fromkeys(m for s in batch for m in s.image_ids))


def headers(batch: list[Sample], ctx: OpContext) -> dict[str, Header]:
    """Format and size of every image in the batch, reading headers only."""
    from PIL import Image

    from plait.io.media import is_svg, svg_size

    out: dict[str, Header] = {}
    for mid, data in ctx.media(media_ids(batch)).items():
        if is_svg(data):
            try:
                w, h = svg_size(data)
            except Exception:  # a malformed SVG has no size; the format still counts
                w = h = None
            out[mid] = Header("image/svg+xml", w, h)
            continue
        try:
            img = Image.open(io.BytesIO(data))
            out[mid] = Header(
                Image.MIME.get(img.format or "", "application/octet-stream"), *img.size
            )
        except Exception:
            out[mid] = Header("application/octet-stream", None, None)
    return out


def images(batch: list[Sample], ctx: OpContext, mode: str = "RGB") -> dict[str, Any]:
    """Decoded PIL images by media id; media that cannot be decoded (SVG, corrupt) map to None."""
    from plait.io.media import open_image

    out: dict[str, Any] = {}
    for mid, data in ctx.media(media_ids(batch)).items():
        try:
            out[mid] = open_image(data, mode)
        except Exception:
            out[mid] = None
    return out

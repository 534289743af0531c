"""Media access for operators: image headers and decoded images from ``ctx.media``."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from plait.errors import InputError
from plait.ops.base import OpContext
from plait.schema import Sample


@dataclass(slots=True)
class Header:
    mime: str
    width: int | None
    height: int | None
    error: str | None = None  # why the bytes could not be read ("corrupt_image")


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
                out[mid] = Header("image/svg+xml", w, h)
            except InputError as exc:  # a malformed SVG: its format counts, its size cannot
                out[mid] = Header("image/svg+xml", None, None, exc.reason)
            continue
        try:
            img = Image.open(io.BytesIO(data))
            out[mid] = Header(
                Image.MIME.get(img.format or "", "application/octet-stream"), *img.size
            )
        except Exception as exc:  # PIL raises many types on bad bytes: the reason is kept
            out[mid] = Header(
                "application/octet-stream", None, None, f"corrupt_image: {type(exc).__name__}"
            )
    return out


def images(batch: list[Sample], ctx: OpContext, mode: str = "RGB") -> dict[str, Any]:
    """Decoded PIL images by media id; media that cannot be decoded (SVG, corrupt) map to
    None, and an operator counts them per sample with :func:`unreadable`."""
    from plait.io.media import open_image

    out: dict[str, Any] = {}
    for mid, data in ctx.media(media_ids(batch)).items():
        try:
            out[mid] = open_image(data, mode)
        except Exception:  # counted by the caller (unreadable), never silently dropped
            out[mid] = None
    return out


def unreadable(sample: Sample, found: dict[str, Any]) -> dict[str, int]:
    """``{"unreadable_images": n}`` for the sample's images that ``images``/``headers``
    could not read (merged into its stats), or {} when every one was read."""
    n = sum(
        1
        for m in sample.media_ids
        if m in found and (found[m] is None or getattr(found[m], "error", None))
    )
    return {"unreadable_images": n} if n else {}

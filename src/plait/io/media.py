"""Content-addressed media: hash, sniff and validate image bytes.

Validation decodes all of the image's data, so a corrupt or truncated file is
caught at ingest, not at training time. The pixel cap is checked from the header
before any decoding, which is what defuses decompression bombs. A JPEG that
libjpeg-turbo decodes without a warning is validated there directly (simplejpeg);
anything else is PIL's to judge and name. PIL's global settings are never changed.
"""

from __future__ import annotations

import functools
import hashlib
import io
import re
from dataclasses import dataclass
from typing import Any

from plait.errors import InputError, InputTooLargeError

MAX_PIXELS = 89_478_485  # PIL's own default warning threshold
MAX_BYTES = 64 * 1024 * 1024


@dataclass(slots=True)
class MediaInfo:
    id: str
    mime: str
    width: int | None
    height: int | None
    size: int


def sha256(data: bytes) -> str:
    """A media item's id: the sha256 of its bytes (content-addressed)."""
    return hashlib.sha256(data).hexdigest()


def text_key(text: str) -> str:
    """A text's content key (the sha256 of its UTF-8 bytes): embeddings rows and the
    tower-feature cache key texts by it, as media by their id."""
    return sha256(text.encode("utf-8"))


def is_svg(data: bytes) -> bool:
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"<") and b"<svg" in head


def probe(data: bytes, *, max_pixels: int = MAX_PIXELS, max_bytes: int = MAX_BYTES) -> MediaInfo:
    """Hash and validate image bytes; raise :class:`InputError` with a reason code."""
    if not data:
        raise InputError("empty_file", "zero-byte file")
    if len(data) > max_bytes:
        raise InputError("too_large", f"{len(data)} bytes exceeds the cap of {max_bytes}")
    digest = sha256(data)
    if is_svg(data):
        w, h = svg_size(data)
        return MediaInfo(digest, "image/svg+xml", w, h, len(data))
    if data[:3] == _JPEG_SOI:
        size = _clean_jpeg_size(data, max_pixels)
        if size is not None:
            return MediaInfo(digest, "image/jpeg", size[0], size[1], len(data))

    from PIL import Image

    img = _opened(data, max_pixels)
    w, h = img.size
    if img.format == "JPEG":
        # Validation needs no pixels: at 1/8 scale every byte of the entropy-coded data is
        # still decoded (where a truncated or corrupt file fails) while the inverse DCT
        # runs on an eighth of the blocks, about a third less CPU on 224 px photos
        img.draft(None, (1, 1))
    _loaded(img)
    mime = Image.MIME.get(img.format or "", "application/octet-stream")
    return MediaInfo(digest, mime, w, h, len(data))


def media_row(data: bytes) -> dict[str, Any]:
    """A ``media`` table row holding ``data`` itself (probed: bad bytes raise InputError)."""
    info = probe(data)
    return {
        "id": info.id,
        "bytes": data,
        "uri": None,
        "mime": info.mime,
        "width": info.width,
        "height": info.height,
        "size": info.size,
    }


_JPEG_SOI = b"\xff\xd8\xff"  # what PIL's JPEG plugin accepts as the start of a JPEG


@functools.cache
def _turbo() -> Any:
    """simplejpeg (libjpeg-turbo called from C, the GIL released), or None."""
    try:
        import simplejpeg
    except ImportError:
        return None
    return simplejpeg


def _clean_jpeg_size(data: bytes, max_pixels: int) -> tuple[int, int] | None:
    """(width, height) of a JPEG that libjpeg-turbo decodes without one warning, or None
    for anything else, which PIL then judges and names.

    Same check as PIL's path (all the entropy-coded data decoded, the inverse DCT at 1/8
    scale), but on two threads PIL's Python header parsing and decode loop hold the GIL
    that the other thread waits for: 1.8x the images per second of one thread here,
    against PIL's 1.5x. A multi-picture file (MPO) is left to PIL, which names it."""
    turbo = _turbo()
    if turbo is None:
        return None
    try:
        h, w, _, _ = turbo.decode_jpeg_header(data)
    except Exception:  # noqa: BLE001 - PIL gives the reason
        return None
    _check_pixels(w, h, max_pixels)
    if w <= 0 or h <= 0 or data.find(b"MPF\x00", 0, 1 << 17) >= 0:
        return None
    try:
        turbo.decode_jpeg(data, min_height=1, min_width=1, strict=True)  # 1/8 scale
    except Exception:  # noqa: BLE001 - a warning (strict) or an error: PIL decides
        return None
    return w, h


def svg_size(data: bytes) -> tuple[int | None, int | None]:
    """Width and height from the root element; expat refuses entity expansion bombs."""
    import xml.etree.ElementTree as ET

    try:
        parser: ET.XMLPullParser = ET.XMLPullParser(events=("start",))
        parser.feed(data)
        for event in parser.read_events():
            elem = event[-1]
            if not isinstance(elem, ET.Element):
                continue  # only "start" events were asked for: never taken
            return _svg_len(elem.get("width"), elem.get("viewBox"), 2), _svg_len(
                elem.get("height"), elem.get("viewBox"), 3
            )
    except ET.ParseError as exc:
        raise InputError("corrupt_image", f"malformed SVG: {exc}") from exc
    raise InputError("corrupt_image", "SVG without a root element")


def _svg_len(value: str | None, viewbox: str | None, index: int) -> int | None:
    m = re.match(r"\s*([0-9.]+)\s*(px)?\s*$", value or "")
    if m:
        return int(float(m.group(1)))
    if viewbox:
        parts = re.split(r"[\s,]+", viewbox.strip())
        if len(parts) == 4:
            try:
                return int(float(parts[index]))
            except ValueError:
                return None
    return None


def decoded(data: bytes, max_pixels: int) -> Any:
    """The PIL image of ``data``, its pixel count checked from the header before decoding
    (over ``max_pixels``: :class:`InputTooLargeError`), then decoded; broken bytes are an
    :class:`InputError` whose reason says how (not_an_image, corrupt_image, truncated_image)."""
    return _loaded(_opened(data, max_pixels))


def _opened(data: bytes, max_pixels: int) -> Any:
    """The image with only its header read, its size checked."""
    from PIL import Image, UnidentifiedImageError

    try:
        img = Image.open(io.BytesIO(data))  # reads the header only
    except Image.DecompressionBombError as exc:
        raise InputTooLargeError("decompression_bomb", str(exc)) from exc
    except UnidentifiedImageError as exc:
        raise InputError("not_an_image", "not a recognised image format") from exc
    except Exception as exc:  # PIL raises many types on garbage headers
        raise InputError("corrupt_image", f"{type(exc).__name__}: {exc}") from exc
    w, h = img.size
    _check_pixels(w, h, max_pixels)
    if w <= 0 or h <= 0:
        raise InputError("corrupt_image", f"invalid size {w}x{h}")
    return img


def _check_pixels(w: int, h: int, max_pixels: int) -> None:
    """The pixel cap, checked from a header before anything is decoded."""
    if w * h > max_pixels:
        raise InputTooLargeError(
            "decompression_bomb", f"{w}x{h} = {w * h} pixels exceeds the cap of {max_pixels}"
        )


def _loaded(img: Any) -> Any:
    """``img`` decoded; a failure is an InputError saying how."""
    from PIL import Image

    try:
        img.load()
    except Image.DecompressionBombError as exc:
        raise InputTooLargeError("decompression_bomb", str(exc)) from exc
    except Exception as exc:
        msg = f"{type(exc).__name__}: {exc}"
        reason = "truncated_image" if "truncated" in msg.lower() else "corrupt_image"
        raise InputError(reason, msg) from exc
    return img


def open_image(data: bytes, mode: str = "RGB", *, max_pixels: int = MAX_PIXELS):  # noqa: ANN201
    """Decode media bytes to a PIL image; rasterises nothing (SVG raises InputError).

    The pixel count is checked from the header before decoding: over ``max_pixels`` is
    an :class:`InputTooLargeError`; garbage, truncated or empty bytes are an
    :class:`InputError` with a reason (the server answers 413 and 4xx, not 500).
    Transparent images come back composited on white when ``mode`` is RGB.
    """
    from PIL import Image

    if not data:
        raise InputError("empty_file", "the image is empty")
    if is_svg(data):
        raise InputError("unsupported_media", "SVG media cannot be decoded to pixels")
    img = decoded(data, max_pixels)
    if mode == "RGB" and (img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info):
        # Clip art (Tux Paint stamps, logos) is drawn on a transparent background; a plain
        # convert turns it black. Composite on white, as a browser shows it.
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return img.convert(mode) if mode and img.mode != mode else img

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from plait.errors import InputError
from plait.io import media

from ...builders import bomb_png


def _png(w: int = 8, h: int = 6, color=(200, 10, 10)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), color).save(buf, "PNG")
    return buf.getvalue()


def test_probe_reports_hash_mime_and_size():
    data = _png(8, 6)
    info = media.probe(data)
    assert info.id == media.sha256(data)
    assert (info.mime, info.width, info.height, info.size) == ("image/png", 8, 6, len(data))


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"", "empty_file"),
        (b"definitely not an image", "not_an_image"),
        (_png(64, 64)[:120], "truncated_image"),
        (bomb_png(30000, 30000), "decompression_bomb"),
    ],
)
def test_probe_rejects_bad_bytes_with_a_reason(data, reason):
    with pytest.raises(InputError) as exc:
        media.probe(data)
    assert exc.value.reason == reason


def test_probe_truncated_jpeg():
    buf = io.BytesIO()
    Image.effect_noise((128, 128), 64).convert("RGB").save(buf, "JPEG")
    with pytest.raises(InputError) as exc:
        media.probe(buf.getvalue()[: len(buf.getvalue()) // 2])
    assert exc.value.reason in ("truncated_image", "corrupt_image")


def test_probe_pixel_cap_is_configurable():
    with pytest.raises(InputError) as exc:
        media.probe(_png(100, 100), max_pixels=5000)
    assert exc.value.reason == "decompression_bomb"
    with pytest.raises(InputError) as exc:
        media.probe(_png(10, 10), max_bytes=10)
    assert exc.value.reason == "too_large"


def test_svg_is_media_with_its_declared_size():
    svg = b'<?xml version="1.0"?>\n<!DOCTYPE svg [ <!ENTITY a "b"> ]>\n<svg width="120px" height="80" xmlns="http://www.w3.org/2000/svg"/>'
    info = media.probe(svg)
    assert (info.mime, info.width, info.height) == ("image/svg+xml", 120, 80)
    vb = media.probe(b'<svg viewBox="0 0 40 30" xmlns="http://www.w3.org/2000/svg"></svg>')
    assert (vb.width, vb.height) == (40, 30)


def test_svg_entity_bomb_is_refused():
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa">'
        + b"".join(
            f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">'.encode() for i in range(9)
        )
        + b']><svg width="10" height="10">&j;</svg>'
    )
    try:
        info = media.probe(laughs)
    except InputError as exc:
        assert exc.reason == "corrupt_image"
    else:  # expat may stop expanding before the root's children: size still read safely
        assert info.width == 10


def test_transparent_images_decode_on_white_not_black(shared_data: Path):
    from PIL import Image

    from plait.io.media import open_image

    buf = io.BytesIO()
    Image.new("RGBA", (4, 4), (255, 0, 0, 0)).save(buf, "PNG")  # fully transparent red
    assert open_image(buf.getvalue()).getpixel((0, 0)) == (255, 255, 255)
    # a real Tux Paint stamp (palette PNG with transparency): its corner is background
    stamp = next((shared_data / "tuxpaint" / "stamps").rglob("*.png")).read_bytes()
    img = open_image(stamp)
    assert img.mode == "RGB" and img.getpixel((0, 0)) == (255, 255, 255)

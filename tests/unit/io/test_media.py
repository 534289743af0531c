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


def _jpeg(mode: str = "RGB", **save: object) -> bytes:
    buf = io.BytesIO()
    img = Image.effect_noise((96, 64), 40).convert("RGB")
    img = img.convert(mode) if mode != "RGB" else img
    img.save(buf, "JPEG", **save)
    return buf.getvalue()


def _sof_resized(data: bytes, w: int, h: int) -> bytes:
    """``data`` with the frame header (SOF0) claiming ``w`` x ``h``: a decompression bomb's
    header on a small file."""
    at = data.index(b"\xff\xc0") + 5
    return data[:at] + h.to_bytes(2, "big") + w.to_bytes(2, "big") + data[at + 4 :]


def _corrupt_middle(data: bytes) -> bytes:
    """Zeros over the middle of the scan: libjpeg warns (corrupt data) and decodes on."""
    mid = len(data) // 2
    return data[:mid] + b"\x00" * 64 + data[mid + 64 :]


def _both_paths(data: bytes, monkeypatch) -> tuple[object, object, bool]:
    """probe() through libjpeg-turbo and through PIL alone: each result or InputError
    reason, and whether the first answer came from the turbo path (PIL never opened it)."""
    opened = []
    real_opened = media._opened
    monkeypatch.setattr(media, "_opened", lambda *a: opened.append(1) or real_opened(*a))

    def run() -> object:
        try:
            i = media.probe(data, max_pixels=1_000_000)
        except InputError as exc:
            return exc.reason
        return (i.id, i.mime, i.width, i.height, i.size)

    fast = run()
    turbo_only = not opened
    with monkeypatch.context() as m:
        m.setattr(media, "_turbo", lambda: None)
        slow = run()
    return fast, slow, turbo_only


@pytest.mark.parametrize(
    "name, make, turbo",
    [
        ("baseline 4:2:0", lambda: _jpeg(), True),
        ("progressive", lambda: _jpeg(progressive=True), True),
        ("4:4:4", lambda: _jpeg(subsampling=0), True),
        ("grayscale", lambda: _jpeg("L"), True),
        ("trailing bytes after the end marker", lambda: _jpeg() + b"plait", True),
        ("CMYK", lambda: _jpeg("CMYK"), True),
        (
            "corrupt scan data (a libjpeg warning: left to PIL)",
            lambda: _corrupt_middle(_jpeg()),
            False,
        ),
        ("truncated", lambda: _jpeg()[: len(_jpeg()) // 2], False),
        ("header only", lambda: _jpeg()[:300], False),
        ("start marker then garbage", lambda: b"\xff\xd8\xff" + b"x" * 500, False),
        ("bomb header", lambda: _sof_resized(_jpeg(), 20000, 20000), True),
    ],
)
def test_jpeg_validation_through_libjpeg_turbo_agrees_with_pil(name, make, turbo, monkeypatch):
    pytest.importorskip("simplejpeg")
    fast, slow, turbo_only = _both_paths(make(), monkeypatch)
    assert fast == slow, name  # same media row, or the same reason to refuse it
    assert turbo_only == turbo, name  # clean JPEGs never reach PIL; anything odd does


def test_real_photos_validate_the_same_through_either_path(shared_data: Path, monkeypatch):
    pytest.importorskip("simplejpeg")
    photos = sorted((shared_data / "flickr8k" / "images").glob("*.jpg"))[:40]
    assert photos
    for p in photos:
        fast, slow, turbo_only = _both_paths(p.read_bytes(), monkeypatch)
        assert fast == slow and turbo_only, p.name


def test_multi_picture_jpeg_keeps_its_mime(monkeypatch):
    pytest.importorskip("simplejpeg")
    buf = io.BytesIO()
    frames = [Image.effect_noise((64, 48), 30).convert("RGB") for _ in range(2)]
    frames[0].save(buf, "MPO", save_all=True, append_images=frames[1:])
    fast, slow, turbo_only = _both_paths(buf.getvalue(), monkeypatch)
    assert fast == slow and not turbo_only
    assert fast[1] == "image/mpo"

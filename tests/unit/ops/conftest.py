"""Tiny in-memory samples and media for operator tests (real PIL images, real bytes)."""

from __future__ import annotations

import io

import pytest

from plait.io.media import sha256
from plait.ops.base import OpContext
from plait.schema import PAIR, TEXT, Sample, Source


def png(
    w: int = 64, h: int = 48, color: tuple[int, int, int] = (200, 30, 30), fmt: str = "PNG"
) -> bytes:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (w, h), color)
    ImageDraw.Draw(img).rectangle((w // 4, h // 4, w // 2, h // 2), fill=(10, 200, 10))
    buf = io.BytesIO()
    img.save(buf, fmt)
    return buf.getvalue()


class MediaStore:
    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}

    def add(self, data: bytes) -> str:
        mid = sha256(data)
        self.blobs[mid] = data
        return mid

    def __call__(self, ids):  # noqa: ANN001 - the OpContext.media seam
        return {i: self.blobs[i] for i in ids if i in self.blobs}


def pair(sid: str, media_id: str | None, caption: str | None, **kw) -> Sample:
    texts: list[str | None] = []
    images: list[str | None] = []
    if media_id:
        texts.append(None)
        images.append(media_id)
    if caption is not None:
        texts.append(caption)
        images.append(None)
    kind = PAIR if media_id else TEXT
    return Sample(
        id=sid,
        kind=kind,
        texts=texts,
        images=images,
        source=kw.pop("source", Source(uri=sid, dataset="t")),
        **kw,
    )


@pytest.fixture()
def store() -> MediaStore:
    return MediaStore()


@pytest.fixture()
def ctx(store: MediaStore) -> OpContext:
    return OpContext(run_id="test-run", media=store)

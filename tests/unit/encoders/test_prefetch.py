"""The decode-ahead queue keeps order, reports bad media and surfaces loader errors."""

from __future__ import annotations

import io

import numpy as np
import pytest

from plait.encoders.prefetch import prefetch_batches
from plait.io.media import open_image


def _png(value: int) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (8, 6), (value, value, value)).save(buf, format="PNG")
    return buf.getvalue()


def test_batches_keep_order_and_report_failures() -> None:
    store = {f"m{i}": _png(i * 10) for i in range(7)}
    store["bad"] = b"not an image at all"
    keys = ["m0", "m1", "bad", "m2", "gone", "m3", "m4", "m5", "m6"]
    chunks = [keys[i : i + 4] for i in range(0, len(keys), 4)]

    def prepare(data: bytes) -> np.ndarray:
        return np.asarray(open_image(data), dtype=np.float32)[0, 0]

    got = list(prefetch_batches(chunks, lambda ch: [store.get(k) for k in ch], prepare, workers=3))
    items = [k for b in got for k in b.items]
    assert items == ["m0", "m1", "m2", "m3", "m4", "m5", "m6"]
    values = np.concatenate([b.pixels[:, 0] for b in got if b.pixels is not None])
    assert values.tolist() == [0, 10, 20, 30, 40, 50, 60]
    failures = dict(f for b in got for f in b.failures)
    assert failures["gone"] == "missing_media"
    assert failures["bad"] == "not_an_image"  # the reason the checked decode gives


def test_loader_error_reaches_the_consumer() -> None:
    def load(chunk: list[str]) -> list[bytes | None]:
        raise OSError("disk went away")

    with pytest.raises(OSError, match="disk went away"):
        list(prefetch_batches([["a"]], load, lambda b: np.zeros(1)))

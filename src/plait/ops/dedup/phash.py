"""64-bit perceptual image hashes (pHash, dHash) in numpy, of the whole image and of
centre crops.

A hash bit is the sign of a measurement (a DCT coefficient against the median, or a
brightness step between neighbouring cells) over a fixed grid laid on the frame. A
copy cropped by a few percent per side lays that grid on a smaller frame, which
moves ~8 of the 64 bits: too many for a selective index. So an image is also hashed
over centre crops (a grid of horizontal x vertical keep-fractions): a slightly
cropped copy's whole-image hash then lines up with one of its original's crop
hashes to within a few bits, whichever of the two is seen first (see
:mod:`plait.ops.dedup.mih`).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

HASH_BITS = 64
METHODS = ("phash", "dhash")
# keep-fractions per axis for the crop hashes: centre crops of 3.5%, 7% and 10.5% of
# each dimension, so a copy cropped 2-5% per side is within ~1.5% per side of one
DEFAULT_CROPS = (0.965, 0.93, 0.895)
_WEIGHTS = np.left_shift(np.uint64(1), np.arange(HASH_BITS, dtype=np.uint64))


@lru_cache(maxsize=4)
def _dct_matrix(n: int) -> np.ndarray:
    """Orthonormal DCT-II matrix, so ``C @ X @ C.T`` is the 2-D DCT of ``X``."""
    k = np.arange(n)[:, None]
    i = np.arange(n)[None, :]
    m = np.cos(np.pi * (2 * i + 1) * k / (2 * n)) * np.sqrt(2.0 / n)
    m[0] /= np.sqrt(2.0)
    return m


def band_edges(bands: int, bits: int = HASH_BITS) -> list[tuple[int, int]]:
    """Split ``bits`` bit positions into ``bands`` contiguous, near-equal ranges."""
    if not 1 <= bands <= bits:
        raise ValueError(f"bands must be in 1..{bits}, not {bands}")
    cuts = np.linspace(0, bits, bands + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(cuts[:-1], cuts[1:])]


def measurements(
    image: Any, method: str = "phash", box: tuple[float, float, float, float] | None = None
) -> np.ndarray:
    """The 64 signed measurements whose signs are the hash bits (bit i = value i > 0).

    ``box`` (left, top, right, bottom, in pixels, fractional allowed) hashes that
    region only; the resize reads it directly, so crops cost no copy.
    """
    from PIL import Image

    gray = image if image.mode == "L" else image.convert("L")
    if method == "phash":
        g = np.asarray(gray.resize((32, 32), Image.Resampling.BOX, box=box), dtype=np.float64)
        c = _dct_matrix(32)
        low = (c @ g @ c.T)[:8, :8].ravel()
        return low - np.median(low[1:])  # DC excluded from the median, as in pHash
    if method == "dhash":
        g = np.asarray(gray.resize((9, 8), Image.Resampling.BOX, box=box), dtype=np.float64)
        return (g[:, 1:] - g[:, :-1]).ravel()
    raise ValueError(f"unknown hash method {method!r}; choose one of {METHODS}")


def pack(bits: np.ndarray) -> int:
    """64 booleans -> one unsigned 64-bit integer (bit i from ``bits[i]``)."""
    return int((bits.astype(np.uint64) * _WEIGHTS).sum(dtype=np.uint64))


def image_hash(image: Any, method: str = "phash") -> int:
    """The classic hash of the whole image, as an unsigned 64-bit integer."""
    return pack(measurements(image, method) > 0)


def crop_boxes(
    width: int, height: int, crops: Sequence[float]
) -> list[tuple[float, float, float, float]]:
    """Centre boxes for every (horizontal, vertical) pair of keep-fractions in ``crops``."""
    out = []
    for fx in crops:
        for fy in crops:
            dx, dy = width * (1 - fx) / 2, height * (1 - fy) / 2
            out.append((dx, dy, width - dx, height - dy))
    return out


def image_hashes(
    image: Any, method: str = "phash", crops: Sequence[float] = DEFAULT_CROPS
) -> list[int]:
    """Hash of the whole image first, then of each centre crop (``len(crops)**2`` of them).

    A large image is first box-reduced to a short side of 256-511 px (the hashes read
    32 x 32 cells, so nothing they see is lost), so ten hashes cost about one decode.
    """
    gray = image.convert("L")
    factor = min(gray.size) // 256
    if factor > 1:
        gray = gray.reduce(factor)
    boxes = [None, *crop_boxes(gray.width, gray.height, crops)]
    return [pack(measurements(gray, method, box) > 0) for box in boxes]

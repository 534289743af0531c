"""64-bit perceptual image hashes (pHash, dHash) in numpy, with per-bit reliability.

A hash bit is the sign of a measurement (a DCT coefficient against the median, or
a brightness step between neighbouring cells). Bits whose measurement sits near the
threshold flip under re-encoding, resizing and small crops; those are the bits that
make copies look far apart. :func:`image_hash` therefore also returns an *erasure
mask*: in every band of the hash, the ``erase`` least reliable bits. Two hashes are
compared on the bits reliable in both (see :mod:`plait.ops.dedup.mih`); ``erase=0``
gives the classic hash and plain Hamming distance.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

HASH_BITS = 64
METHODS = ("phash", "dhash")
_WEIGHTS = np.left_shift(np.uint64(1), np.arange(HASH_BITS, dtype=np.uint64))


@lru_cache(maxsize=4)
def _dct_matrix(n: int) -> np.ndarray:
    """Orthonormal DCT-II matrix, so ``C @ X @ C.T`` is the 2-D DCT of ``X``."""
    k = np.arange(n)[:, None]
    i = np.arange(n)[None, :]
    m = np.cos(np.pi * (2 * i + 1) * k / (2 * n)) * np.sqrt(2.0 / n)
    m[0] /= np.sqrt(2.0)
    return m


def band_edges(bands: int) -> list[tuple[int, int]]:
    """Split the 64 bit positions into ``bands`` contiguous, near-equal ranges."""
    if not 1 <= bands <= HASH_BITS:
        raise ValueError(f"bands must be in 1..{HASH_BITS}, not {bands}")
    cuts = np.linspace(0, HASH_BITS, bands + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(cuts[:-1], cuts[1:])]


def measurements(image: Any, method: str = "phash") -> np.ndarray:
    """The 64 signed measurements whose signs are the hash bits (bit i = value i > 0)."""
    from PIL import Image

    gray = image.convert("L")
    if method == "phash":
        g = np.asarray(gray.resize((32, 32), Image.Resampling.BOX), dtype=np.float64)
        c = _dct_matrix(32)
        low = (c @ g @ c.T)[:8, :8].ravel()
        return low - np.median(low[1:])  # DC excluded from the median, as in pHash
    if method == "dhash":
        g = np.asarray(gray.resize((9, 8), Image.Resampling.BOX), dtype=np.float64)
        return (g[:, 1:] - g[:, :-1]).ravel()
    raise ValueError(f"unknown hash method {method!r}; choose one of {METHODS}")


def pack(bits: np.ndarray) -> int:
    """64 booleans -> one unsigned 64-bit integer (bit i from ``bits[i]``)."""
    return int((bits.astype(np.uint64) * _WEIGHTS).sum(dtype=np.uint64))


def erasure_mask(values: np.ndarray, bands: int, erase: int) -> int:
    """Mark the ``erase`` measurements closest to zero in each band."""
    if erase <= 0:
        return 0
    mag = np.abs(values)
    marked = np.zeros(HASH_BITS, dtype=bool)
    for lo, hi in band_edges(bands):
        k = min(erase, hi - lo)
        marked[lo + np.argsort(mag[lo:hi], kind="stable")[:k]] = True
    return pack(marked)


def image_hash(
    image: Any, method: str = "phash", bands: int = 1, erase: int = 0
) -> tuple[int, int]:
    """``(hash, erasure mask)`` of a PIL image, both as unsigned 64-bit integers."""
    values = measurements(image, method)
    return pack(values > 0), erasure_mask(values, bands, erase)

"""Multi-index hashing finds exactly the pairs the all-pairs reference finds."""

from __future__ import annotations

import numpy as np
import pytest

from plait.ops.dedup.mih import first_kept, near_pairs, pairs_bruteforce
from plait.ops.dedup.phash import band_edges, image_hash


def _planted(n: int, radius: int, erase: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    h = rng.integers(0, 2**63, size=n, dtype=np.uint64) << np.uint64(1)
    h |= rng.integers(0, 2, size=n, dtype=np.uint64)
    m = np.zeros(n, dtype=np.uint64)
    if erase:
        for i in range(n):
            for lo, hi in band_edges(radius + 1):
                for b in rng.choice(np.arange(lo, hi), size=erase, replace=False):
                    m[i] |= np.uint64(1) << np.uint64(b)
    k = n // 4
    src = rng.integers(0, n - k, size=k)
    for j, s in enumerate(src):  # copies with up to radius + 2 flipped bits
        flip = np.uint64(0)
        for b in rng.choice(64, size=rng.integers(0, radius + 3), replace=False):
            flip |= np.uint64(1) << np.uint64(b)
        h[n - k + j] = h[s] ^ flip
        m[n - k + j] = m[s]
    return h, m


@pytest.mark.parametrize(("radius", "erase"), [(0, 0), (2, 0), (3, 0), (2, 3), (1, 5)])
def test_matches_bruteforce(radius: int, erase: int) -> None:
    h, m = _planted(300, radius, erase)
    a, b, d = near_pairs(h, m, radius)
    assert set(zip(a.tolist(), b.tolist())) == pairs_bruteforce(h, m, radius)
    assert (d <= radius).all()


def test_first_kept_is_greedy_in_order() -> None:
    # 0~1, 1~2, but not 0~2: 1 drops (near 0), 2 is kept (its only neighbour 1 was dropped)
    parent = first_kept(4, np.array([0, 1]), np.array([1, 2]))
    assert parent.tolist() == [-1, 0, -1, -1]


def test_hash_is_stable_under_re_encoding() -> None:
    import io

    from PIL import Image

    rng = np.random.default_rng(1)
    base = Image.fromarray((rng.random((96, 128, 3)) * 255).astype("uint8")).resize((256, 192))
    buf = io.BytesIO()
    base.save(buf, "JPEG", quality=70)
    again = Image.open(io.BytesIO(buf.getvalue()))
    (h1, m1), (h2, m2) = image_hash(base, bands=3, erase=6), image_hash(again, bands=3, erase=6)
    assert bin((h1 ^ h2) & ~(m1 | m2)).count("1") <= 2

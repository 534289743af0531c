"""Multi-index hashing finds exactly the pairs the all-pairs reference finds."""

from __future__ import annotations

import numpy as np
import pytest

from plait.ops.dedup.mih import first_kept, near_pairs, pairs_bruteforce
from plait.ops.dedup.phash import image_hash, image_hashes


def _flip(rng: np.random.Generator, h: np.uint64, upto: int) -> np.uint64:
    for b in rng.choice(64, size=rng.integers(0, upto + 1), replace=False):
        h ^= np.uint64(1) << np.uint64(b)
    return h


def _planted(n: int, k: int, radius: int, seed: int = 0) -> np.ndarray:
    """n items with k hashes each (crop hashes near the whole-image one); a quarter are
    copies whose whole-image hash is up to radius + 2 bits from a random hash of an
    earlier item, so the sets straddle the radius."""
    rng = np.random.default_rng(seed)
    h = np.zeros((n, k), dtype=np.uint64)
    h[:, 0] = rng.integers(0, 2**63, size=n, dtype=np.uint64) << np.uint64(1)
    h[:, 0] |= rng.integers(0, 2, size=n, dtype=np.uint64)
    m = n // 4
    src = rng.integers(0, n - m, size=m)
    for j, s in enumerate(src):
        h[n - m + j, 0] = _flip(rng, h[s, rng.integers(0, k)], radius + 2)
    for i in range(n):
        for c in range(1, k):
            h[i, c] = _flip(rng, h[i, 0], 8)
    return h


@pytest.mark.parametrize(
    ("k", "radius", "bands"),
    [(1, 0, None), (1, 3, None), (1, 4, None), (4, 4, None), (10, 4, None), (4, 5, 2),
     (4, 4, 3), (4, 4, 5), (3, 8, None), (2, 1, 2)],
)  # fmt: skip
def test_matches_bruteforce(k: int, radius: int, bands: int | None) -> None:
    h = _planted(240, k, radius, seed=k * 100 + radius)
    a, b, d = near_pairs(h, radius, bands=bands)
    found = set(zip(a.tolist(), b.tolist()))
    assert found == pairs_bruteforce(h, radius)
    assert len(found) > 20  # the planted copies are there to be found
    assert (d <= radius).all() and (a < b).all()


def test_crop_hash_meets_whole_image_hash_either_way_round() -> None:
    r = np.random.default_rng(5).integers(0, 2**63, size=6, dtype=np.uint64).tolist()
    # item 1's whole-image hash is item 0's crop hash; item 2's crop hash is one bit
    # from item 3's whole-image hash; every other pair is ~32 bits apart
    h = np.array([[r[0], r[1]], [r[1], r[2]], [r[3], r[4] ^ 1], [r[4], r[5]]], dtype=np.uint64)
    a, b, d = near_pairs(h, 1)
    assert sorted(zip(a.tolist(), b.tolist(), d.tolist())) == [(0, 1, 0), (2, 3, 1)]


def test_first_kept_is_greedy_in_order() -> None:
    # 0~1, 1~2, but not 0~2: 1 drops (near 0), 2 is kept (its only neighbour 1 was dropped)
    parent = first_kept(4, np.array([0, 1]), np.array([1, 2]))
    assert parent.tolist() == [-1, 0, -1, -1]


def test_hashes_are_stable_under_re_encoding_and_crop() -> None:
    import io

    from PIL import Image

    rng = np.random.default_rng(1)
    base = Image.fromarray((rng.random((96, 128, 3)) * 255).astype("uint8")).resize(
        (512, 384), Image.Resampling.BICUBIC
    )
    w, h = base.size
    copy = base.crop((round(0.035 * w), round(0.035 * h), round(0.965 * w), round(0.965 * h)))
    buf = io.BytesIO()
    copy.resize((copy.width // 2, copy.height // 2)).save(buf, "JPEG", quality=70)
    again = Image.open(io.BytesIO(buf.getvalue()))
    hashes = image_hashes(base)
    assert len(hashes) == 10 and hashes[0] == image_hash(base)
    best = min(bin(image_hash(again) ^ x).count("1") for x in hashes)
    assert best <= 4 < bin(image_hash(again) ^ hashes[0]).count("1")

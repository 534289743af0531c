"""Near-duplicate images by a 64-bit perceptual hash and a Hamming radius, found by
multi-index hashing (see :mod:`plait.ops.dedup.mih`), never by comparing all pairs.

The defaults were tuned on Flickr8k (see bench/curate.py and the integration
test): plain pHash needs a radius of ~12 to catch resized, re-encoded and 2-5%
cropped copies, where the pigeonhole index degenerates (13 bands of 5 bits) and
3,500 photos already give ~1% false positives. Hashing each image also over a
3 x 3 grid of centre crops brings a cropped copy within 4 bits of one of its
original's hashes, where 2 bands of 32 bits (probed with one flipped bit a side)
find it in O(n log n). ``crops=[]`` is the classic single hash.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from plait.errors import ConfigError
from plait.ops._media import images
from plait.ops.base import DROP, Deduplicator, OpContext, check_mode
from plait.ops.dedup.mih import first_kept, near_pairs
from plait.ops.dedup.phash import DEFAULT_CROPS, METHODS, image_hashes
from plait.schema import Sample


class NearDupImage(Deduplicator):
    """Drop samples whose image is a near-duplicate of an earlier sample's image.

    Fingerprint: 64-bit hashes (``method`` pHash or dHash) of the sample's first
    decodable image: the whole image, then every centre crop keeping a fraction
    ``crops`` of the width times one of the height (``len(crops)**2`` crops). Two
    images are near-duplicates when one's whole-image hash is within ``radius``
    bits of any of the other's hashes. In sample id order, each sample near an
    already kept one is dropped with reason ``near_duplicate_of:<kept id>``.
    Up to radius 5 the search is two 32-bit bands, O(n log n); larger radii need
    narrower bands, where chance candidates grow with n**2 on big corpora.
    """

    name = "near_dup_image"
    example = {"radius": 4}

    def __init__(
        self,
        method: str = "phash",
        radius: int = 4,
        crops: list[float] = list(DEFAULT_CROPS),  # noqa: B006 - never mutated; shown by ops show
        mode: str = DROP,
    ) -> None:
        if method not in METHODS:
            raise ConfigError(f"method must be one of {METHODS}, not {method!r}")
        if not 0 <= radius <= 15:
            raise ConfigError("radius must be in 0..15")
        if len(crops) > 5 or not all(0.5 <= f < 1 for f in crops):
            raise ConfigError("crops must be at most 5 keep-fractions in [0.5, 1)")
        self.method, self.radius, self.crops = method, radius, [float(f) for f in crops]
        self.mode = check_mode(mode)

    def hash_image(self, image: Any) -> list[int]:
        """Whole-image hash first, then one per crop."""
        return image_hashes(image, self.method, self.crops)

    def fingerprint(self, batch: list[Sample], ctx: OpContext) -> list[Any]:
        imgs = images(batch, ctx)
        out: list[Any] = []
        for s in batch:
            img = next((imgs[m] for m in s.media_ids if imgs.get(m) is not None), None)
            out.append(None if img is None else self.hash_image(img))
        return out

    def index_hashes(self, fingerprint: Any) -> list[int]:
        """The hashes a fingerprint is indexed by (a subclass may carry more)."""
        return list(fingerprint)

    def confirmed(
        self, rows: list[tuple[str, Any]], a: np.ndarray, b: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The candidate pairs that stand (a subclass may check more than the index)."""
        return a, b

    def resolve(self, items: list[tuple[str, Any]]) -> dict[str, str]:
        rows = sorted(((sid, fp) for sid, fp in items if fp is not None), key=lambda it: it[0])
        if len(rows) < 2:
            return {}
        k = 1 + len(self.crops) ** 2
        # fingerprints made with other crops (an older run's) fall back to the whole-image hash
        hashes = [self.index_hashes(fp) for _, fp in rows]
        h = np.array(
            [hs if len(hs) == k else [hs[0]] * k for hs in hashes], dtype=np.uint64
        ).reshape(len(rows), k)
        a, b, _ = near_pairs(h, self.radius)
        a, b = self.confirmed(rows, a, b)
        parent = first_kept(len(rows), a, b)
        return {
            rows[i][0]: f"near_duplicate_of:{rows[p][0]}"
            for i, p in enumerate(parent.tolist())
            if p >= 0
        }

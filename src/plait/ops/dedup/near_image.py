"""Near-duplicate images by a 64-bit perceptual hash and a Hamming radius, found by
multi-index hashing (see :mod:`plait.ops.dedup.mih`), never by comparing all pairs.

The defaults were tuned on Flickr8k (see bench/curate.py and the integration
test): plain pHash needs a radius of ~12 to catch resized, re-encoded and 2-5%
cropped copies, where the pigeonhole index degenerates (13 bands of 5 bits).
Erasing the 6 least reliable bits per band and comparing the rest with radius 2
finds the same copies with 3 bands; ``erase=0`` is the classic hash.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from plait.ops._media import images
from plait.ops.base import Deduplicator, OpContext
from plait.ops.dedup.mih import first_kept, near_pairs
from plait.ops.dedup.phash import METHODS, image_hash
from plait.schema import Sample


class NearDupImage(Deduplicator):
    """Drop samples whose image is a near-duplicate of an earlier sample's image.

    Fingerprint: ``(hash, erasure mask)`` of the sample's first decodable image
    (``method`` pHash or dHash, 64 bits). Two images are near-duplicates when they
    differ in at most ``radius`` of the bits reliable in both. In sample id order,
    each sample near an already kept one is dropped with reason
    ``near_duplicate_of:<kept id>``.
    """

    name = "near_dup_image"
    example = {"radius": 2, "erase": 6}

    def __init__(self, method: str = "phash", radius: int = 2, erase: int = 6) -> None:
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, not {method!r}")
        if not 0 <= radius <= 15:
            raise ValueError("radius must be in 0..15")
        if not 0 <= erase <= 8:
            raise ValueError("erase must be in 0..8")
        self.method, self.radius, self.erase = method, radius, erase

    def hash_image(self, image: Any) -> tuple[int, int]:
        return image_hash(image, self.method, bands=self.radius + 1, erase=self.erase)

    def fingerprint(self, batch: list[Sample], ctx: OpContext) -> list[Any]:
        imgs = images(batch, ctx)
        out: list[Any] = []
        for s in batch:
            img = next((imgs[m] for m in s.media_ids if imgs.get(m) is not None), None)
            out.append(None if img is None else self.hash_image(img))
        return out

    def resolve(self, items: list[tuple[str, Any]]) -> dict[str, str]:
        rows = sorted(((sid, fp) for sid, fp in items if fp is not None), key=lambda it: it[0])
        if len(rows) < 2:
            return {}
        h = np.array([fp[0] for _, fp in rows], dtype=np.uint64)
        m = np.array([fp[1] for _, fp in rows], dtype=np.uint64)
        a, b, _ = near_pairs(h, m, self.radius)
        parent = first_kept(len(rows), a, b)
        return {
            rows[i][0]: f"near_duplicate_of:{rows[p][0]}"
            for i, p in enumerate(parent.tolist())
            if p >= 0
        }

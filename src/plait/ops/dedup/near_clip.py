"""Near-duplicate clips by their keyframes' perceptual hashes (the image near-dup
machinery of :mod:`plait.ops.dedup.near_image`, one keyframe per clip as the key).

A clip's middle keyframe is hashed as :class:`NearDupImage` hashes an image
(whole frame plus centre crops) and finds candidate pairs by multi-index hashing,
never comparing all pairs. A candidate is confirmed only when every keyframe of
the clip with fewer keyframes lies within ``radius`` bits of some keyframe of the
other, so two shots that merely share a look at their midpoint (the same studio,
a recurring title card) are not merged, while a re-encoded, resized or slightly
re-cut copy is.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from plait.ops._media import images
from plait.ops.base import OpContext
from plait.ops.dedup.near_image import NearDupImage
from plait.ops.dedup.phash import image_hash
from plait.schema import CLIP, Sample


class NearDupClip(NearDupImage):
    """Drop clips whose keyframes near-duplicate an earlier clip's (reason
    ``near_duplicate_of:<kept id>``). Samples other than clips are kept."""

    name = "near_dup_clip"
    example = {"radius": 6}

    def fingerprint(self, batch: list[Sample], ctx: OpContext) -> list[Any]:
        clips = [s for s in batch if s.kind == CLIP]
        imgs = images(clips, ctx)
        out: list[Any] = []
        for s in batch:
            frames = [imgs[m] for m in s.image_ids if imgs.get(m) is not None]
            if s.kind != CLIP or not frames:
                out.append(None)
                continue
            mid = self.hash_image(frames[len(frames) // 2])
            out.append({"mid": mid, "all": [image_hash(f, self.method) for f in frames]})
        return out

    def index_hashes(self, fingerprint: Any) -> list[int]:
        return list(fingerprint["mid"])

    def confirmed(
        self, rows: list[tuple[str, Any]], a: np.ndarray, b: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        ok = np.array(
            [self._same(rows[i][1]["all"], rows[j][1]["all"]) for i, j in zip(a, b)], dtype=bool
        )
        return (a[ok], b[ok]) if len(ok) else (a, b)

    def _same(self, x: list[int], y: list[int]) -> bool:
        short, other = (x, y) if len(x) <= len(y) else (y, x)
        o = np.array(other, dtype=np.uint64)
        return all(int(np.bitwise_count(o ^ np.uint64(v)).min()) <= self.radius for v in short)

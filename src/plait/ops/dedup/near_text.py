"""Near-duplicate texts by MinHash LSH (datasketch) over word shingles."""

from __future__ import annotations

from typing import Any

import numpy as np

from plait._deps import require
from plait.errors import ConfigError
from plait.ops.base import DROP, Deduplicator, OpContext, check_mode
from plait.ops.dedup.exact import normalise_text
from plait.schema import Sample

_SCHEME = "affine32"  # pinned: a signature is only comparable within one hashing scheme


class NearDupText(Deduplicator):
    """Drop samples whose text is a near-duplicate (estimated Jaccard similarity of
    word ``shingle``-grams at least ``threshold``) of an earlier sample's.

    Fingerprint: the MinHash signature (``num_perm`` values) of the normalised text.
    Resolve walks samples in id order through a MinHash LSH index of kept samples;
    candidates are verified on the estimated Jaccard. Reason ``near_duplicate_of:<kept id>``.
    """

    name = "near_dup_text"
    example = {"threshold": 0.8}

    def __init__(
        self,
        threshold: float = 0.8,
        num_perm: int = 128,
        shingle: int = 3,
        seed: int = 1,
        mode: str = DROP,
    ) -> None:
        if not 0 < threshold <= 1:
            raise ConfigError("threshold must be in (0, 1]")
        self.threshold, self.num_perm, self.shingle, self.seed = threshold, num_perm, shingle, seed
        self.mode = check_mode(mode)

    def _shingles(self, text: str) -> set[bytes]:
        words = normalise_text(text).split()
        if not words:
            return set()
        k = min(self.shingle, len(words))
        return {" ".join(words[i : i + k]).encode() for i in range(len(words) - k + 1)}

    def fingerprint(self, batch: list[Sample], ctx: OpContext) -> list[Any]:
        ds = require("datasketch", "curate", "the near_dup_text operator")
        sets = [self._shingles(s.text) for s in batch]
        nonempty = [i for i, sh in enumerate(sets) if sh]
        out: list[Any] = [None] * len(batch)
        mhs = ds.MinHash.bulk(
            [sets[i] for i in nonempty], num_perm=self.num_perm, seed=self.seed, scheme=_SCHEME
        )
        for i, mh in zip(nonempty, mhs):
            out[i] = mh.hashvalues.astype(np.uint64)
        return out

    def resolve(self, items: list[tuple[str, Any]]) -> dict[str, str]:
        ds = require("datasketch", "curate", "the near_dup_text operator")
        lsh = ds.MinHashLSH(threshold=self.threshold, num_perm=self.num_perm)
        kept: dict[str, np.ndarray] = {}
        out: dict[str, str] = {}
        for sid, hv in sorted(((s, v) for s, v in items if v is not None), key=lambda it: it[0]):
            hv = np.asarray(hv, dtype=np.uint64)
            mh = ds.MinHash(num_perm=self.num_perm, seed=self.seed, hashvalues=hv, scheme=_SCHEME)
            match = sorted(
                c for c in lsh.query(mh) if float(np.mean(kept[c] == hv)) >= self.threshold
            )
            if match:
                out[sid] = f"near_duplicate_of:{match[0]}"
            else:
                lsh.insert(sid, mh)
                kept[sid] = hv
        return out

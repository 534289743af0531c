"""Frozen-tower features kept in the corpus, so ``plait align`` computes them once.

``CORPUS/cache/features/<recipe>.lance`` holds one row per (media id or text hash) and
tower recipe. ``plait align`` writes it (:mod:`plait.align.features`); the ``lit:NAME``
encoder reads it back, so embedding the pairs an adapter was trained on does not run the
towers a second time. One table per (tower, parts, view): the recipe with view ``flip``
holds the left-right mirrored image's features (the trainer's augmentation, and a view a
recipe may average in; see :mod:`plait.encoders.towers`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from plait.io.corpus import Corpus, slug, sql_in


@dataclass(frozen=True)
class TowerRecipe:
    """One frozen tower, the parts of its features, and the view of the image (``""`` = as is)."""

    tower: str
    parts: tuple[str, ...] = ()
    view: str = ""

    @property
    def key(self) -> str:
        parts = "+".join(self.parts) if self.parts else "embedding"
        return slug(f"{self.tower}@{parts}{'@' + self.view if self.view else ''}")


def cache_table(recipe: TowerRecipe) -> str:
    """The corpus table holding a recipe's features."""
    return f"cache/features/{recipe.key}"


def _schema(dim: int) -> pa.Schema:
    return pa.schema(
        [
            pa.field("key", pa.string(), nullable=False),
            pa.field("vector", pa.list_(pa.float32(), dim)),
        ]
    )


def read_cache(corpus: Corpus, recipe: TowerRecipe, keys: Sequence[str]) -> dict[str, np.ndarray]:
    ds = corpus.dataset(cache_table(recipe))
    if ds is None:
        return {}
    wanted = list(dict.fromkeys(keys))
    out: dict[str, np.ndarray] = {}
    for i in range(0, len(wanted), 2048):
        tbl = ds.to_table(columns=["key", "vector"], filter=sql_in("key", wanted[i : i + 2048]))
        if tbl.num_rows:
            vecs = tbl.column("vector").combine_chunks().flatten().to_numpy(zero_copy_only=False)
            vecs = vecs.reshape(tbl.num_rows, -1).astype(np.float32)
            for k, v in zip(tbl.column("key").to_pylist(), vecs, strict=True):
                out[k] = v
    return out


def write_cache(corpus: Corpus, recipe: TowerRecipe, keys: list[str], vecs: np.ndarray) -> None:
    if not keys:
        return
    dim = vecs.shape[1]
    arr = pa.FixedSizeListArray.from_arrays(pa.array(vecs.astype(np.float32).ravel()), dim)
    tbl = pa.table({"key": pa.array(keys, pa.string()), "vector": arr}, schema=_schema(dim))
    corpus.append(cache_table(recipe), tbl, _schema(dim))

"""Frozen-tower features for ``plait align``, cached in the corpus.

The towers never change during alignment, so their features are computed once per
(tower recipe, media id or text hash) and kept in ``CORPUS/cache/features/<recipe>.lance``;
a rerun, or another adapter over the same towers, reads them back instead of running the
models. The image recipe also stores the features of the left-right mirrored image, the
augmentation the trainer uses.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from plait.encoders import load_encoder
from plait.encoders.prefetch import prefetch_batches
from plait.errors import ConfigError
from plait.io.corpus import Corpus, slug, sql_in
from plait.io.media import open_image

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class TowerRecipe:
    """Which frozen tower, and which of its features, an adapter is trained over."""

    tower: str
    parts: tuple[str, ...] = ()
    flip: bool = False

    @property
    def key(self) -> str:
        parts = "+".join(self.parts) if self.parts else "embedding"
        return slug(f"{self.tower}@{parts}{'@flip' if self.flip else ''}")


def _cache_name(recipe: TowerRecipe) -> str:
    return f"cache/features/{recipe.key}"


def _schema(dim: int) -> pa.Schema:
    return pa.schema(
        [
            pa.field("key", pa.string(), nullable=False),
            pa.field("vector", pa.list_(pa.float32(), dim)),
        ]
    )


def read_cache(corpus: Corpus, recipe: TowerRecipe, keys: Sequence[str]) -> dict[str, np.ndarray]:
    ds = corpus.dataset(_cache_name(recipe))
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


def _write_cache(corpus: Corpus, recipe: TowerRecipe, keys: list[str], vecs: np.ndarray) -> None:
    if not keys:
        return
    dim = vecs.shape[1]
    arr = pa.FixedSizeListArray.from_arrays(pa.array(vecs.astype(np.float32).ravel()), dim)
    tbl = pa.table({"key": pa.array(keys, pa.string()), "vector": arr}, schema=_schema(dim))
    corpus.append(_cache_name(recipe), tbl, _schema(dim))


def image_features(
    corpus: Corpus,
    media_ids: Sequence[str],
    recipes: Sequence[TowerRecipe],
    *,
    batch_size: int = 32,
    progress: Progress | None = None,
) -> list[dict[str, np.ndarray]]:
    """Features of each media id for each recipe (same tower), computing only the missing ones.

    Media that cannot be decoded are left out of the result.
    """
    towers = {r.tower for r in recipes}
    if len(towers) != 1:
        raise ConfigError("image_features takes recipes of one tower at a time")
    cached = [read_cache(corpus, r, media_ids) for r in recipes]
    todo = [m for m in dict.fromkeys(media_ids) if any(m not in c for c in cached)]
    if todo:
        enc = load_encoder(towers.pop())
        feats = getattr(enc, "features", None)
        done = 0
        chunks = [todo[i : i + batch_size] for i in range(0, len(todo), batch_size)]
        flush: list[tuple[list[str], list[np.ndarray]]] = [([], []) for _ in recipes]

        def prepare(data: bytes) -> np.ndarray:
            return enc.prepare_image(open_image(data))

        for batch in prefetch_batches(chunks, lambda ch: _load(corpus, ch), prepare):
            if batch.pixels is not None:
                for j, r in enumerate(recipes):
                    if feats is not None and r.parts:
                        v = feats(batch.pixels, parts=r.parts, flip=r.flip)
                    else:
                        px = batch.pixels[..., ::-1].copy() if r.flip else batch.pixels
                        v = enc.encode_prepared(px)
                    flush[j][0].extend(batch.items)
                    flush[j][1].extend(v)
                    cached[j].update(zip(batch.items, v, strict=True))
            done += len(batch.items) + len(batch.failures)
            if progress:
                progress("image features", done, len(todo))
            if len(flush[0][0]) >= 256:
                _flush(corpus, recipes, flush)
        _flush(corpus, recipes, flush)
    return cached


def _flush(corpus: Corpus, recipes: Sequence[TowerRecipe], flush: list) -> None:
    for r, (keys, vecs) in zip(recipes, flush, strict=True):
        if keys:
            _write_cache(corpus, r, list(keys), np.stack(vecs))
        keys.clear()
        vecs.clear()


def _load(corpus: Corpus, chunk: Sequence[str]) -> list[bytes | None]:
    got = corpus.media_many(chunk)
    return [got.get(m) for m in chunk]


def text_features(
    corpus: Corpus,
    texts: Sequence[str],
    recipe: TowerRecipe,
    *,
    batch_size: int = 256,
    progress: Progress | None = None,
) -> dict[str, np.ndarray]:
    """Features keyed by text hash, computing only the texts not cached yet."""
    from plait.align.pairs import text_key

    by_key = {text_key(t): t for t in texts}
    cached = read_cache(corpus, recipe, list(by_key))
    todo = [k for k in by_key if k not in cached]
    if todo:
        enc = load_encoder(recipe.tower)
        for i in range(0, len(todo), 4096):
            keys = todo[i : i + 4096]
            vecs = np.concatenate(
                [
                    enc.encode_text([by_key[k] for k in keys[j : j + batch_size]])
                    for j in range(0, len(keys), batch_size)
                ]
            )
            _write_cache(corpus, recipe, keys, vecs)
            cached.update(zip(keys, vecs, strict=True))
            if progress:
                progress("text features", i + len(keys), len(todo))
    return cached

"""Frozen-tower features for ``plait align``, computed once and cached in the corpus.

The towers never change during alignment, so their features are computed once per
(tower recipe, media id or text hash) and kept by :mod:`plait.encoders.feature_cache`;
a rerun, or another adapter over the same towers, reads them back instead of running the
models. Each (tower, parts, view) has its own cache, so a recipe of several towers, or a
mirrored view for augmentation, computes only what no earlier run did.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from plait.encoders import load_encoder
from plait.encoders.feature_cache import TowerRecipe, cache_table, read_cache, write_cache
from plait.encoders.prefetch import prefetch_batches
from plait.encoders.towers import tower_features
from plait.errors import ConfigError
from plait.io.corpus import Corpus
from plait.io.media import open_image
from plait.progress import Progress


@dataclass
class CacheUse:
    """What one feature cache gave a run: rows read back, rows computed, and at what cost."""

    table: str  # cache/features/<key>
    dim: int
    reused: int
    computed: int
    seconds: float  # spent computing (0 when everything was cached)


def image_features(
    corpus: Corpus,
    media_ids: Sequence[str],
    recipes: Sequence[TowerRecipe],
    *,
    batch_size: int = 32,
    progress: Progress | None = None,
    uses: list[CacheUse] | None = None,
) -> list[dict[str, np.ndarray]]:
    """Features of each media id for each recipe (same tower), computing only the missing ones.

    Media that cannot be decoded are left out of the result. ``uses`` collects one
    :class:`CacheUse` per recipe.
    """
    t0 = time.perf_counter()
    towers = {r.tower for r in recipes}
    if len(towers) != 1:
        raise ConfigError("image_features takes recipes of one tower at a time")
    cached = [read_cache(corpus, r, media_ids) for r in recipes]
    had = [len(c) for c in cached]
    todo = [m for m in dict.fromkeys(media_ids) if any(m not in c for c in cached)]
    if todo:
        enc = load_encoder(towers.pop())
        done = 0
        chunks = [todo[i : i + batch_size] for i in range(0, len(todo), batch_size)]
        flush: list[tuple[list[str], list[np.ndarray]]] = [([], []) for _ in recipes]

        def prepare(data: bytes) -> np.ndarray:
            return enc.prepare_image(open_image(data))

        for batch in prefetch_batches(chunks, lambda ch: _load(corpus, ch), prepare):
            if batch.pixels is not None:
                for j, r in enumerate(recipes):
                    v = tower_features(enc, batch.pixels, r.parts, r.view)
                    flush[j][0].extend(batch.items)
                    flush[j][1].extend(v)
                    cached[j].update(zip(batch.items, v, strict=True))
            done += len(batch.items) + len(batch.failures)
            if progress:
                progress(done, len(todo), "image features")
            if len(flush[0][0]) >= 256:
                _flush(corpus, recipes, flush)
        _flush(corpus, recipes, flush)
    if uses is not None:
        secs = time.perf_counter() - t0 if todo else 0.0
        for r, c, n in zip(recipes, cached, had, strict=True):
            uses.append(CacheUse(cache_table(r), _dim(c), n, len(c) - n, round(secs, 2)))
    return cached


def _dim(got: dict[str, np.ndarray]) -> int:
    return int(next(iter(got.values())).shape[0]) if got else 0


def _flush(corpus: Corpus, recipes: Sequence[TowerRecipe], flush: list) -> None:
    for r, (keys, vecs) in zip(recipes, flush, strict=True):
        if keys:
            write_cache(corpus, r, list(keys), np.stack(vecs))
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
    uses: list[CacheUse] | None = None,
) -> dict[str, np.ndarray]:
    """Features keyed by text hash, computing only the texts not cached yet."""
    from plait.io.media import text_key

    t0 = time.perf_counter()
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
            write_cache(corpus, recipe, keys, vecs)
            cached.update(zip(keys, vecs, strict=True))
            if progress:
                progress(i + len(keys), len(todo), "text features")
    if uses is not None:
        secs = round(time.perf_counter() - t0, 2) if todo else 0.0
        uses.append(
            CacheUse(cache_table(recipe), _dim(cached), len(by_key) - len(todo), len(todo), secs)
        )
    return cached

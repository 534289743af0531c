"""``plait align``: LiT-style projection heads over two frozen towers, from a corpus's own pairs.

>>> from plait.align import align
>>> report = align(corpus, image="effnet-lite2+effnet-lite0", name="flickr")  # doctest: +SKIP
>>> report.metrics["t2i_R@1"]  # held-out text-to-image recall@1, in percent  # doctest: +SKIP

The adapter is then usable as the encoder ``lit:NAME`` (both modalities).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from plait.align.features import CacheUse, image_features, text_features
from plait.align.metrics import retrieval_recall
from plait.align.pairs import Pairs, read_pairs
from plait.align.train import Heads, TrainConfig, train_heads
from plait.encoders import check_spec
from plait.encoders.feature_cache import TowerRecipe
from plait.encoders.lit import HubPrior
from plait.encoders.towers import DEFAULT_RECIPE, DEFAULT_TEXT, ImageRecipe
from plait.errors import ConfigError
from plait.io.corpus import Corpus
from plait.io.media import text_key
from plait.io.runs import Run
from plait.progress import Progress

__all__ = [
    "DEFAULT_IMAGE",
    "DEFAULT_TEXT",
    "AlignReport",
    "TrainConfig",
    "align",
    "evaluate_heads",
    "pair_features",
]

DEFAULT_IMAGE = DEFAULT_RECIPE


@dataclass
class AlignReport:
    name: str
    path: Path
    images: int
    captions: int
    train_images: int
    heldout_images: int
    metrics: dict[str, float]  # held-out retrieval, percent; empty when holdout == 0
    seconds: dict[str, float] = field(default_factory=dict)  # features, train, total
    run_id: str = ""
    image: str = ""  # the image recipe, spelled out (see plait.encoders.towers)
    features: list[CacheUse] = field(default_factory=list)  # the feature caches it used
    langs: dict[str, int] = field(default_factory=dict)  # captions trained on, by language


@dataclass
class PairFeatures:
    image: np.ndarray  # (images, d): the recipe's features, as lit: computes them
    views: list[np.ndarray]  # training views: [plain, mirrored] with augmentation, else [image]
    text: np.ndarray  # (captions, d)
    owner: np.ndarray  # caption -> image row
    pairs: Pairs
    cache: list[CacheUse] = field(default_factory=list)

    def subset(self, idx: np.ndarray) -> PairFeatures:
        pos = {int(i): j for j, i in enumerate(idx)}
        keep = np.array([k for k, o in enumerate(self.owner) if int(o) in pos], dtype=np.int64)
        return PairFeatures(
            self.image[idx],
            [v[idx] for v in self.views],
            self.text[keep],
            np.array([pos[int(o)] for o in self.owner[keep]], dtype=np.int64),
            self.pairs.subset([int(i) for i in idx]),
            self.cache,
        )


def pair_features(
    corpus: Corpus,
    pairs: Pairs,
    image: str | ImageRecipe,
    text: str,
    *,
    flip: bool = True,
    progress: Progress | None = None,
) -> PairFeatures:
    """Frozen features of every pair (cached in the corpus per tower and view); images that
    do not decode are dropped. ``flip`` also gives the mirrored images' features to train on."""
    recipe = ImageRecipe.parse(image) if isinstance(image, str) else image
    views = list(recipe.all_views) + (["flip"] if flip and "flip" not in recipe.views else [])
    uses: list[CacheUse] = []
    got: dict[tuple[int, str], dict[str, np.ndarray]] = {}
    # One (tower, view) at a time: each is complete (and cached) before the next starts,
    # so an interrupted run keeps what it finished.
    for t, tower in enumerate(recipe.towers):
        for view in views:
            r = TowerRecipe(tower.name, tower.parts, view)
            got[t, view] = image_features(
                corpus, pairs.media_ids, [r], progress=progress, uses=uses
            )[0]
    ok = [i for i, m in enumerate(pairs.media_ids) if all(m in g for g in got.values())]
    pairs = pairs.subset(ok)
    caps = [c for cs in pairs.captions for c in cs]
    tfeat = text_features(corpus, caps, TowerRecipe(text), progress=progress, uses=uses)
    owner = np.array([i for i, cs in enumerate(pairs.captions) for _ in cs], dtype=np.int64)
    txt = np.stack([tfeat[text_key(c)] for c in caps]) if caps else np.zeros((0, 1))
    if not len(pairs):
        empty = np.zeros((0, 1), np.float32)
        return PairFeatures(empty, [empty], txt, owner, pairs, uses)

    def stacked(view: str) -> np.ndarray:
        cols = [
            np.stack([got[t, view][m] for m in pairs.media_ids]) for t in range(len(recipe.towers))
        ]
        return np.concatenate(cols, axis=1)

    by_view = {v: stacked(v) for v in views}
    img = np.mean([by_view[v] for v in recipe.all_views], axis=0) if recipe.views else by_view[""]
    train_views = [by_view[""], by_view["flip"]] if flip else [img]
    return PairFeatures(img.astype(np.float32), train_views, txt, owner, pairs, uses)


def hub_prior(heads: Heads, train: PairFeatures, cfg: TrainConfig) -> HubPrior | None:
    """The adapter's hubness prior: its training captions through the text heads."""
    if cfg.hub_k <= 0 or not len(train.text):
        return None
    return HubPrior(heads.project(train.text, "text"), cfg.hub_k, cfg.hub_weight)


def evaluate_heads(
    heads: Heads, feats: PairFeatures, prior: HubPrior | None = None
) -> dict[str, float]:
    """Held-out recall of the vectors the adapter will give (with its prior, if any)."""
    zi, zt = heads.project(feats.image, "image"), heads.project(feats.text, "text")
    if prior is not None:
        zi, zt = prior.image(zi), prior.text(zt)
    return retrieval_recall(zi, zt, feats.owner)


def align(
    corpus: Corpus,
    *,
    image: str = DEFAULT_IMAGE,
    text: str = DEFAULT_TEXT,
    name: str = "default",
    where: str | None = None,
    langs: Sequence[str | None] | None = None,
    holdout: float = 0.1,
    refit: bool = True,
    config: TrainConfig | None = None,
    progress: Progress | None = None,
) -> AlignReport:
    """Train ``lit:NAME`` on the corpus's image-text pairs and store it in the corpus.

    A random ``holdout`` fraction of images (with all their captions) is kept out of
    training and used to report retrieval recall. With ``refit`` the stored adapter is then
    retrained on every pair (the held-out numbers estimate it); without, it is the measured one.
    """
    from plait.encoders.lit import AdapterConfig, adapter_dir, save_adapter

    cfg = config or TrainConfig()
    adapter_dir(corpus, name)  # validate the name before any work
    recipe = ImageRecipe.parse(image)
    for spec in [t.name for t in recipe.towers] + [text]:
        check_spec(spec)  # an unknown tower fails before any work
    if not 0.0 <= holdout < 1.0:
        raise ConfigError(f"holdout must be in [0, 1), not {holdout}")
    params = {
        "image": str(recipe),
        "text": text,
        "name": name,
        "where": where,
        "langs": list(langs) if langs is not None else None,
        "holdout": holdout,
        "refit": refit,
        **asdict(cfg),
    }
    with Run(corpus, "align", params) as run:
        t0 = time.perf_counter()
        pairs = read_pairs(corpus, where, langs)
        if len(pairs) < 2:
            raise ConfigError(
                f"align needs image-text pairs; {corpus.path} has {len(pairs)}"
                + (f" matching {where!r}" if where else "")
            )
        feats = pair_features(
            corpus, pairs, recipe, text, flip=cfg.flip_prob > 0, progress=progress
        )
        t_feat = time.perf_counter() - t0
        n = len(feats.pairs)
        rng = np.random.default_rng(cfg.seed)
        perm = rng.permutation(n)
        n_hold = int(round(n * holdout))
        if holdout and n_hold < 1:
            raise ConfigError(f"holdout {holdout} of {n} images leaves no held-out image")
        metrics: dict[str, float] = {}
        t1 = time.perf_counter()
        if n_hold:
            train, held = feats.subset(np.sort(perm[n_hold:])), feats.subset(np.sort(perm[:n_hold]))
            heads = train_heads(train.views, train.text, train.owner, cfg)
            metrics = evaluate_heads(heads, held, hub_prior(heads, train, cfg))
        if not n_hold or refit:
            heads, train = train_heads(feats.views, feats.text, feats.owner, cfg), feats
        prior = hub_prior(heads, train, cfg)
        t_train = time.perf_counter() - t1
        acfg = AdapterConfig(
            image_tower=str(recipe),
            text_tower=text,
            image_parts=[],
            dim=heads.dim,
            seeds=cfg.seeds,
            temperature=heads.temperature,
            hub_k=cfg.hub_k if prior else 0,
            hub_weight=cfg.hub_weight if prior else 0.0,
            trained={
                "run_id": run.run_id,
                "images": n,
                "captions": int(len(feats.text)),
                "heldout_images": n_hold,
                "heldout_metrics": metrics,
                "refit": refit,
                "where": where,
                "config": asdict(cfg),
            },
        )
        path = save_adapter(corpus, name, acfg, heads, prior.bank if prior else None)
        run.counts.update(
            {"images": n, "captions": int(len(feats.text)), "heldout_images": n_hold, **metrics}
        )
        return AlignReport(
            name,
            path,
            n,
            int(len(feats.text)),
            n - n_hold,
            n_hold,
            metrics,
            {"features": t_feat, "train": t_train, "total": time.perf_counter() - t0},
            run.run_id,
            str(recipe),
            feats.cache,
            dict(pairs.langs.most_common()),
        )

"""``lit:NAME``: projection heads trained by ``plait align``, over two frozen towers.

An adapter lives in the corpus at ``CORPUS/adapters/NAME/``: ``config.json`` names the
towers and the feature recipe, ``heads.safetensors`` holds the weights (numpy arrays, so
applying the heads needs no torch; the towers do). Images and texts land in one space, so
a text query finds images and the other way round.

An adapter may also hold a *hubness prior*: the training captions' vectors (the bank). Some
images sit close to many captions ("hubs") and crowd the top of every text query's list;
querybank normalisation (Bogolin et al., CVPR 2022) and CSLS (Conneau et al., ICLR 2018)
score a text query against an image as ``cos - weight * r(image)``, ``r`` the mean
similarity of the image to its ``k`` nearest bank captions. The bank holds training
captions only, so nothing of the searched collection leaks in. Search engines rank by a
dot product of stored vectors, so the prior rides in one extra coordinate (see
:class:`HubPrior`); every vector stays unit length.
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from plait._deps import require
from plait.encoders.base import IMAGE, TEXT, BaseEncoder, load_encoder
from plait.encoders.towers import ImageRecipe, RecipeTowers, TowerSpec
from plait.errors import ConfigError, NotFoundError
from plait.io.store import local_file, write_file
from plait.params import as_bool
from plait.vectors import l2_normalise

if TYPE_CHECKING:
    from PIL.Image import Image

    from plait.io.corpus import Corpus

FORMAT = "plait-lit-adapter"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_ARRAYS = ("image_w", "image_b", "text_w", "text_b", "image_mean", "image_std")
_BANK = "text_bank"


@dataclass
class AdapterConfig:
    image_tower: str  # the image recipe (plait.encoders.towers), e.g. effnet-lite2+effnet-lite0
    text_tower: str
    image_parts: list[str]  # version 1 only: the parts of its single image tower
    dim: int
    seeds: int
    format: str = FORMAT
    version: int = 2
    temperature: list[float] = field(default_factory=list)
    trained: dict[str, Any] = field(default_factory=dict)  # counts, params, held-out metrics
    hub_k: int = 0  # the hubness prior (0 = none): bank captions averaged per image
    hub_weight: float = 0.0  # how much of that mean a text query's score loses


@dataclass
class Heads:
    """An ensemble of linear heads: weights (seeds, in, dim), biases (seeds, dim).

    ``plait align`` trains them (:mod:`plait.align.train`); applying them is numpy only."""

    image_w: np.ndarray
    image_b: np.ndarray
    text_w: np.ndarray
    text_b: np.ndarray
    image_mean: np.ndarray  # feature standardisation, fitted on the training images
    image_std: np.ndarray
    temperature: list[float]

    @property
    def dim(self) -> int:
        return int(self.image_w.shape[0] * self.image_w.shape[2])

    def project(self, feats: np.ndarray, side: str) -> np.ndarray:
        """Concatenated, normalised, 1/sqrt(seeds)-scaled outputs; unit length overall."""
        if side == "image":
            x = (feats - self.image_mean) / self.image_std
            w, b = self.image_w, self.image_b
        else:
            x, w, b = feats, self.text_w, self.text_b
        outs = []
        for s in range(w.shape[0]):
            z = x.astype(np.float32) @ w[s] + b[s]
            outs.append(l2_normalise(z))
        return (np.concatenate(outs, axis=1) / math.sqrt(w.shape[0])).astype(np.float32)


@dataclass
class HubPrior:
    """Text-to-image scores corrected for hubs, as dot products of unit vectors.

    An image's vector ``z`` becomes ``[a z, b]`` with ``b = -weight * r``, ``r`` the mean
    of its ``k`` largest similarities to the bank, and ``a = sqrt(1 - b^2)``; a text's
    vector ``t`` becomes ``[t, 1] / sqrt(2)``. Then text . image = ``(a t.z + b) / sqrt(2)``:
    the corrected score up to a factor near 1 (``a`` 0.92-0.99 on Flickr8k). A text query
    against texts scores ``(1 + t.u) / 2`` and an image query against texts
    ``(a z.t + b) / sqrt(2)``: both rank as before. Image against image gains ``b b'``,
    the one ranking it moves (on the Flickr8k test images 97% of an image query's top 10
    images stay).
    """

    bank: np.ndarray  # (captions, dim): training captions through the text heads
    k: int
    weight: float

    def __post_init__(self) -> None:
        # float32 once (stored as float16): a per-call conversion copied the whole bank
        # for every query image
        self.bank = np.ascontiguousarray(self.bank, dtype=np.float32)

    def hubness(self, z: np.ndarray) -> np.ndarray:
        """Mean similarity of each row of ``z`` to its ``k`` nearest bank captions."""
        k = max(1, min(self.k, len(self.bank)))
        out = np.empty(len(z), np.float32)
        for lo in range(0, len(z), 256):  # bounded memory: 256 x bank similarities at a time
            sims = np.asarray(z[lo : lo + 256], np.float32) @ self.bank.T
            top = np.partition(sims, sims.shape[1] - k, axis=1)[:, -k:]
            out[lo : lo + 256] = top.mean(axis=1)
        return out

    def image(self, z: np.ndarray) -> np.ndarray:
        b = np.clip(-self.weight * self.hubness(z), -0.99, 0.99)[:, None]
        return np.hstack([z * np.sqrt(1.0 - b * b), b]).astype(np.float32)

    @staticmethod
    def text(z: np.ndarray) -> np.ndarray:
        return (np.hstack([z, np.ones((len(z), 1), z.dtype)]) / math.sqrt(2.0)).astype(np.float32)


def adapter_dir(corpus: Corpus, name: str) -> Path:
    if not _NAME.match(name):
        raise ConfigError(f"adapter name {name!r}: use letters, digits, '-', '_' or '.' (max 64)")
    return corpus.path / "adapters" / name


def adapter_names(corpus: Corpus) -> list[str]:
    d = corpus.path / "adapters"
    return (
        sorted(p.name for p in d.iterdir() if (p / "config.json").is_file()) if d.is_dir() else []
    )


def save_adapter(
    corpus: Corpus, name: str, cfg: AdapterConfig, heads: Heads, bank: np.ndarray | None = None
) -> Path:
    """Write the adapter (weights first, config last: a config means a complete adapter).
    ``bank``: the hubness prior's caption vectors (stored as float16), when ``cfg.hub_k``."""
    st = require("safetensors.numpy", "embed", "plait align", package="safetensors")
    d = adapter_dir(corpus, name)
    d.mkdir(parents=True, exist_ok=True)
    arrays = {k: np.ascontiguousarray(getattr(heads, k), dtype=np.float32) for k in _ARRAYS}
    if cfg.hub_k:
        if bank is None or not len(bank):
            raise ConfigError("an adapter with a hubness prior needs its caption bank")
        arrays[_BANK] = np.ascontiguousarray(bank, dtype=np.float16)
    write_file(d / "heads.safetensors", lambda name: st.save_file(arrays, name))
    text = json.dumps(asdict(cfg), indent=2, default=str)
    write_file(d / "config.json", lambda name: Path(name).write_text(text))
    return d


def check_adapter(corpus: Corpus, name: str) -> Path:
    """The adapter's folder; NotFoundError naming the adapters there if it is absent."""
    d = adapter_dir(corpus, name)
    if not (d / "config.json").is_file():
        have = ", ".join(adapter_names(corpus)) or "(none)"
        raise NotFoundError(
            f"no adapter {name!r} in {corpus.path} (adapters: {have}); "
            f"train one with `plait align {corpus.path} --name {name}`"
        )
    return d


def load_adapter(
    corpus: Corpus, name: str, with_prior: bool = True
) -> tuple[AdapterConfig, Heads, HubPrior | None]:
    """The adapter's config, heads and (``with_prior``, when it has one) hubness prior."""
    d = check_adapter(corpus, name)
    raw = json.loads((d / "config.json").read_text())
    if raw.get("format") != FORMAT:
        raise ConfigError(f"{d / 'config.json'} is not a plait lit adapter")
    cfg = AdapterConfig(**raw)
    st = require("safetensors.numpy", "embed", "lit encoder", package="safetensors")
    with local_file(d / "heads.safetensors") as name:
        arrays = st.load_file(name)
    heads = Heads(**{k: arrays[k] for k in _ARRAYS}, temperature=list(cfg.temperature))
    prior = None
    if cfg.hub_k and with_prior:
        if _BANK not in arrays:
            raise ConfigError(f"{d}: the config names a hubness prior the weights lack")
        prior = HubPrior(arrays[_BANK], cfg.hub_k, cfg.hub_weight)
    return cfg, heads, prior


class LitEncoder(BaseEncoder):
    """Both modalities: frozen tower features -> trained heads -> one normalised space."""

    modalities = frozenset({IMAGE, TEXT})

    def __init__(
        self, name: str, *, corpus: Corpus | None = None, batch_size: Any = 32, prior: Any = True
    ) -> None:
        """``prior=False`` (``lit:NAME?prior=0``) leaves the adapter's hubness prior out:
        plain cosines, for comparing an image with its own captions (the operators do)
        rather than ranking a collection for a text query."""
        if corpus is None:
            raise ConfigError(f"encoder 'lit:{name}' lives in a corpus; pass corpus=")
        self.name = f"lit:{name}"
        self.batch_size = int(batch_size)
        self.config, self.heads, self.prior = load_adapter(
            corpus, name, as_bool(prior, "prior", f"encoder lit:{name}")
        )
        self.dim = self.heads.dim + (1 if self.prior else 0)
        self._image: Any = None
        self._text: Any = None
        self._loading = threading.Lock()

    @property
    def recipe(self) -> ImageRecipe:
        """The image recipe; a version-1 adapter names one tower and its parts apart."""
        c = self.config
        if c.version < 2 and c.image_parts:
            return ImageRecipe((TowerSpec(c.image_tower, tuple(c.image_parts)),))
        if c.version < 2:
            return ImageRecipe((TowerSpec(c.image_tower),))
        return ImageRecipe.parse(c.image_tower)

    # Towers load on first use: a text-only search never loads the image towers. The
    # first uses may come at once from several threads (plait embed's decoders each call
    # prepare_image): one loads, the others wait for it.
    @property
    def image_tower(self) -> RecipeTowers:
        if self._image is None:
            with self._loading:
                if self._image is None:
                    self._image = RecipeTowers(self.recipe, load_encoder)
        return self._image

    @property
    def text_tower(self) -> Any:
        if self._text is None:
            with self._loading:
                if self._text is None:
                    self._text = load_encoder(self.config.text_tower)
        return self._text

    def project_image_features(self, feats: np.ndarray) -> np.ndarray:
        z = self.heads.project(feats, "image")
        return self.prior.image(z) if self.prior else z

    def project_text_features(self, feats: np.ndarray) -> np.ndarray:
        z = self.heads.project(feats, "text")
        return self.prior.text(z) if self.prior else z

    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        self._check(TEXT)
        return self.project_text_features(self.text_tower.encode_text(list(texts)))

    def prepare_image(self, image: Image) -> np.ndarray:
        return self.image_tower.prepare_image(image)

    def cached_vectors(
        self, corpus: Corpus, texts: dict[str, str], media_ids: Sequence[str]
    ) -> dict[str, np.ndarray]:
        """Vectors for content whose tower features ``plait align`` already cached in the
        corpus (keyed like the embeddings table: text sha256, media id), so embedding the
        pairs an adapter was trained on does not run the towers a second time. An image
        counts only when every tower and view of the recipe has it."""
        from plait.encoders.feature_cache import TowerRecipe, read_cache

        out: dict[str, np.ndarray] = {}
        recipe = self.recipe
        per_tower = []
        for t in recipe.towers:
            views = [
                read_cache(corpus, TowerRecipe(t.name, t.parts, v), media_ids)
                for v in recipe.all_views
            ]
            per_tower.append(views)
        found = [m for m in dict.fromkeys(media_ids) if all(m in v for vs in per_tower for v in vs)]
        if found:
            cols = [
                np.mean([np.stack([v[m] for m in found]) for v in views], axis=0)
                for views in per_tower
            ]
            out.update(zip(found, self.project_image_features(np.concatenate(cols, axis=1))))
        feats = read_cache(corpus, TowerRecipe(self.config.text_tower), list(texts))
        if feats:
            keys = list(feats)
            out.update(zip(keys, self.project_text_features(np.stack([feats[k] for k in keys]))))
        return out

    def _image_batch(self, pixels: np.ndarray) -> np.ndarray:
        return self.project_image_features(self.image_tower.features(pixels))

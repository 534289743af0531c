"""Image feature recipes: several frozen towers, several of their stages, several views.

``plait align --image`` takes a recipe; the ``lit:`` adapter stores it and computes the
same features when it embeds or searches. Grammar::

    RECIPE := TOWER ("+" TOWER)* ["@" VIEW ("," VIEW)*]
    TOWER  := NAME ["[" PART ("," PART)* "]"]

- ``NAME``: an image encoder spec (``effnet-lite0``, ``effnet-lite1``, ``effnet-lite2``, ...).
- ``PART``: a feature part the tower offers (EfficientNet-Lite: ``pooled``, ``stages``,
  ``logits``). A tower with parts gives ``pooled,stages`` by default; any other tower
  gives its normalised embedding.
- ``VIEW``: ``flip``, the left-right mirrored image. A recipe's features are the mean of
  the features of the image and of each view (test-time augmentation).

The towers' features are concatenated in the order given, e.g.
``effnet-lite2+effnet-lite0`` or ``effnet-lite2[pooled]+effnet-lite0@flip``. Each
(tower, parts, view) is cached on its own in the corpus
(:mod:`plait.encoders.feature_cache`), so a recipe that adds a tower computes only that
tower. Training on mirrored images as augmentation (``plait align``'s default) needs no
view in the recipe: it reads the same ``flip`` cache.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from plait.errors import ConfigError

if TYPE_CHECKING:
    from PIL.Image import Image

VIEWS = ("flip",)
# plait align's default: Lite2 and Lite0 together (pooled + stage features) measured about
# 3.5 t2i R@1 points above Lite0 alone on held-out Flickr8k train images, for 3-4x the
# feature cost; ``effnet-lite0`` stays the cheap choice. Averaging in the mirrored image
# (``@flip``) with 10 seeds looked 0.4-1.1 points better on two held-out folds but gave
# 24.92 against 24.86 on the test split, for twice the image cost of new images and twice
# the vector size: an option, not the default (README, Results).
DEFAULT_RECIPE = "effnet-lite2+effnet-lite0"
# plait align's text tower: MiniLM's last three layers side by side, not its pooled output
# alone. On held-out Flickr8k train images (two folds of 500, 5 seeds) t2i R@1 31.0 / 33.1
# against 30.1 / 31.8, i2t R@1 39.4 / 41.0 against 38.0 / 37.8 (README, Results).
DEFAULT_TEXT = "minilm?layers=4,5,6&join=concat"
DEFAULT_PARTS = ("pooled", "stages")  # for a tower whose features() offers parts
_TOWER = re.compile(r"^(?P<name>[^\[\]+@\s]+)(?:\[(?P<parts>[^\[\]]*)\])?$")


@dataclass(frozen=True)
class TowerSpec:
    """One tower of a recipe and the parts of its features it contributes."""

    name: str
    parts: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.name}[{','.join(self.parts)}]" if self.parts else self.name


@dataclass(frozen=True)
class ImageRecipe:
    towers: tuple[TowerSpec, ...]
    views: tuple[str, ...] = ()  # views averaged with the plain image

    @classmethod
    def parse(cls, spec: str, has_parts: Callable[[str], bool] | None = None) -> ImageRecipe:
        """Parse ``spec``; ``has_parts(name)`` says whether a bare tower gets the default parts
        (EfficientNet-Lite towers by default)."""
        has_parts = has_parts or _is_effnet
        body, at, views = spec.strip().partition("@")
        if not body:
            raise ConfigError(f"image recipe {spec!r}: name at least one tower")
        towers = []
        for part in body.split("+"):
            m = _TOWER.match(part.strip())
            if m is None:
                raise ConfigError(
                    f"image recipe {spec!r}: cannot read tower {part!r}; "
                    "write NAME or NAME[part,part], joined by '+'"
                )
            name, parts = m["name"], m["parts"]
            chosen: tuple[str, ...]
            if parts is None:
                chosen = DEFAULT_PARTS if has_parts(name) else ()
            else:
                chosen = tuple(p.strip() for p in parts.split(",") if p.strip())
                if not chosen:
                    raise ConfigError(f"image recipe {spec!r}: empty part list for {name}")
            towers.append(TowerSpec(name, chosen))
        if len(set(towers)) != len(towers):
            raise ConfigError(f"image recipe {spec!r}: a tower is listed twice")
        chosen_views = tuple(v.strip() for v in views.split(",") if v.strip())
        bad = [v for v in chosen_views if v not in VIEWS]
        if bad or (at and not chosen_views):
            raise ConfigError(
                f"image recipe {spec!r}: unknown view {(bad or [views])[0]!r}; views: {', '.join(VIEWS)}"
            )
        return cls(tuple(towers), tuple(dict.fromkeys(chosen_views)))

    def __str__(self) -> str:
        body = "+".join(str(t) for t in self.towers)
        return f"{body}@{','.join(self.views)}" if self.views else body

    @property
    def all_views(self) -> tuple[str, ...]:
        """The plain image (``""``) and the recipe's views, in the order they are averaged."""
        return ("", *self.views)


def _is_effnet(name: str) -> bool:
    return name.startswith("effnet-lite")


def tower_features(enc: Any, pixels: np.ndarray, parts: Sequence[str], view: str) -> np.ndarray:
    """One tower's features of a prepared batch, for one view (``""`` = the image itself)."""
    if view not in ("", *VIEWS):
        raise ConfigError(f"unknown view {view!r}; views: {', '.join(VIEWS)}")
    flip = view == "flip"
    if parts:
        return np.asarray(enc.features(pixels, parts=tuple(parts), flip=flip), np.float32)
    px = np.ascontiguousarray(pixels[..., ::-1]) if flip else pixels  # CHW: width is last
    return np.asarray(enc.encode_prepared(px), np.float32)


class RecipeTowers:
    """A recipe's towers, loaded: one prepared array per image, one feature row per image.

    :meth:`prepare_image` concatenates each tower's own prepared pixels (their input sizes
    differ) into one flat array, so the embed pipeline's decode threads and batching work
    unchanged; :meth:`features` splits a stack of them again.
    """

    def __init__(self, recipe: ImageRecipe, load: Callable[[str], Any]) -> None:
        self.recipe = recipe
        self.encoders = [load(t.name) for t in recipe.towers]
        self._shapes: list[tuple[int, ...]] | None = None

    def prepare_image(self, image: Image) -> np.ndarray:
        arrays = [np.asarray(e.prepare_image(image), np.float32) for e in self.encoders]
        return np.concatenate([a.ravel() for a in arrays])

    def shapes(self) -> list[tuple[int, ...]]:
        """Each tower's prepared shape (a tower's input size does not depend on the image)."""
        if self._shapes is None:
            from PIL import Image as PILImage

            probe = PILImage.new("RGB", (8, 8))
            self._shapes = [np.shape(e.prepare_image(probe)) for e in self.encoders]
        return self._shapes

    def split(self, batch: np.ndarray) -> list[np.ndarray]:
        """The per-tower pixel stacks of a stack of :meth:`prepare_image` outputs."""
        out, lo = [], 0
        for shape in self.shapes():
            n = int(np.prod(shape))
            out.append(batch[:, lo : lo + n].reshape(len(batch), *shape))
            lo += n
        return out

    def features(self, batch: np.ndarray) -> np.ndarray:
        """The recipe's features: per tower, the mean over views; towers concatenated."""
        per_tower = []
        for enc, spec, px in zip(self.encoders, self.recipe.towers, self.split(batch), strict=True):
            views = [tower_features(enc, px, spec.parts, v) for v in self.recipe.all_views]
            per_tower.append(np.mean(views, axis=0) if len(views) > 1 else views[0])
        return np.concatenate(per_tower, axis=1)

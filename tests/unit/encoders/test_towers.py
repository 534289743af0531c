"""Image recipes (several towers, parts, views): the grammar, and features from fake towers."""

from __future__ import annotations

import numpy as np
import pytest

from plait.encoders.towers import ImageRecipe, RecipeTowers, TowerSpec
from plait.errors import ConfigError


def test_grammar_defaults_parts_views_and_round_trips() -> None:
    r = ImageRecipe.parse("effnet-lite2+effnet-lite0")
    assert r.towers == (
        TowerSpec("effnet-lite2", ("pooled", "stages")),
        TowerSpec("effnet-lite0", ("pooled", "stages")),
    )
    assert r.views == () and r.all_views == ("",)
    assert str(r) == "effnet-lite2[pooled,stages]+effnet-lite0[pooled,stages]"
    r2 = ImageRecipe.parse(" effnet-lite1[pooled] + hf:./clip @flip")
    assert r2.towers == (TowerSpec("effnet-lite1", ("pooled",)), TowerSpec("hf:./clip", ()))
    assert r2.views == ("flip",) and r2.all_views == ("", "flip")
    for spec in (str(r), str(r2)):
        assert ImageRecipe.parse(spec) == ImageRecipe.parse(str(ImageRecipe.parse(spec)))


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "at least one tower"),
        ("effnet-lite0+", "cannot read tower"),
        ("effnet-lite0[pooled", "cannot read tower"),
        ("effnet-lite0[]", "empty part list"),
        ("effnet-lite0+effnet-lite0", "listed twice"),
        ("effnet-lite0@zoom", "unknown view 'zoom'"),
        ("effnet-lite0@", "unknown view"),
    ],
)
def test_bad_recipes_say_what_is_wrong(spec: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ImageRecipe.parse(spec)


class FakeTower:
    """Prepared pixels are (3, size, size); features are per-channel sums of the columns, so
    a mirrored image gives the columns reversed and the mean over views is checkable."""

    def __init__(self, size: int) -> None:
        self.size = size

    def prepare_image(self, image: object) -> np.ndarray:
        rng = np.random.default_rng(self.size)
        return rng.normal(size=(3, self.size, self.size)).astype(np.float32)

    def features(self, pixels: np.ndarray, parts: tuple[str, ...], flip: bool) -> np.ndarray:
        px = pixels[..., ::-1] if flip else pixels
        cols = px.sum(axis=(1, 2))  # (n, size): one value per column
        return np.concatenate([cols * (i + 1) for i, _ in enumerate(parts)], axis=1)

    def encode_prepared(self, pixels: np.ndarray) -> np.ndarray:
        v = pixels.mean(axis=(2, 3))
        return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_recipe_towers_prepare_once_and_split_per_tower() -> None:
    from PIL import Image

    towers = {"a": FakeTower(4), "b": FakeTower(6)}
    recipe = ImageRecipe.parse("a[x,y]+b@flip", has_parts=lambda _: True)
    rt = RecipeTowers(recipe, towers.__getitem__)
    one = rt.prepare_image(Image.new("RGB", (5, 5)))
    assert one.shape == (3 * 16 + 3 * 36,)
    batch = np.stack([one, one * 2])
    a_px, b_px = rt.split(batch)
    np.testing.assert_array_equal(a_px[1], 2 * towers["a"].prepare_image(None))
    feats = rt.features(batch)
    assert feats.shape == (2, 4 * 2 + 6 * 2)  # a: parts x, y; b: the default two parts
    plain = towers["b"].features(b_px, ("pooled", "stages"), False)
    mirrored = towers["b"].features(b_px, ("pooled", "stages"), True)
    np.testing.assert_allclose(feats[:, 8:], (plain + mirrored) / 2, rtol=1e-6)
    a = towers["a"]  # the view applies to every tower of the recipe
    want_a = (a.features(a_px, ("x", "y"), False) + a.features(a_px, ("x", "y"), True)) / 2
    np.testing.assert_allclose(feats[:, :8], want_a, rtol=1e-6)
    # a tower with no parts contributes its normalised embedding
    rt2 = RecipeTowers(ImageRecipe.parse("b", has_parts=lambda _: False), towers.__getitem__)
    e = rt2.features(np.stack([towers["b"].prepare_image(None).ravel()]))
    np.testing.assert_allclose(np.linalg.norm(e, axis=1), 1.0, rtol=1e-6)


def test_align_names_an_unknown_tower_before_any_work(corpus) -> None:  # noqa: ANN001
    from plait.align import align
    from plait.errors import UnknownNameError

    with pytest.raises(UnknownNameError, match="effnet-lite9"):
        align(corpus, image="effnet-lite2+effnet-lite9", name="x")
    assert not corpus.has("runs") or corpus.count("runs") == 0

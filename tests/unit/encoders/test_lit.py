"""The lit adapter format: saved in the corpus, loaded by ``lit:NAME``, projected without torch."""

from __future__ import annotations

import numpy as np
import pytest

from plait.align.train import Heads
from plait.encoders import load_encoder
from plait.encoders.lit import AdapterConfig, adapter_names, load_adapter, save_adapter
from plait.errors import ConfigError, NotFoundError


def _heads(seeds: int = 3, din: int = 10, dt: int = 6, dim: int = 4) -> Heads:
    rng = np.random.default_rng(0)
    f = np.float32
    return Heads(
        rng.normal(size=(seeds, din, dim)).astype(f),
        rng.normal(size=(seeds, dim)).astype(f),
        rng.normal(size=(seeds, dt, dim)).astype(f),
        rng.normal(size=(seeds, dim)).astype(f),
        rng.normal(size=din).astype(f),
        rng.uniform(0.5, 2, size=din).astype(f),
        [0.06] * seeds,
    )


def test_projection_is_the_mean_of_per_seed_cosines() -> None:
    h = _heads()
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(2, 10)), rng.normal(size=(2, 6))
    za, zb = h.project(a, "image"), h.project(b, "text")
    np.testing.assert_allclose(np.linalg.norm(za, axis=1), 1.0, rtol=1e-5)
    per_seed = []
    for s in range(3):
        x = ((a - h.image_mean) / h.image_std) @ h.image_w[s] + h.image_b[s]
        y = b @ h.text_w[s] + h.text_b[s]
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        y /= np.linalg.norm(y, axis=1, keepdims=True)
        per_seed.append(x @ y.T)
    np.testing.assert_allclose(za @ zb.T, np.mean(per_seed, axis=0), atol=1e-5)


def test_save_load_roundtrip_and_encoder(corpus) -> None:  # noqa: ANN001
    h = _heads()
    cfg = AdapterConfig(
        "effnet-lite0", "minilm", ["pooled", "stages"], h.dim, 3, temperature=h.temperature
    )
    save_adapter(corpus, "demo", cfg, h)
    assert adapter_names(corpus) == ["demo"]
    cfg2, h2 = load_adapter(corpus, "demo")
    assert cfg2.image_tower == "effnet-lite0" and cfg2.dim == 12
    np.testing.assert_array_equal(h2.image_w, h.image_w)
    enc = load_encoder("lit:demo", corpus=corpus)
    assert enc.dim == 12 and enc.modalities == frozenset({"image", "text"})
    x = np.ones((1, 10), np.float32)
    np.testing.assert_allclose(enc.project_image_features(x), h.project(x, "image"))


def test_missing_adapter_and_bad_names(corpus) -> None:  # noqa: ANN001
    with pytest.raises(NotFoundError, match="plait align"):
        load_encoder("lit:nope", corpus=corpus)
    with pytest.raises(ConfigError, match="adapter name"):
        load_encoder("lit:../escape", corpus=corpus)

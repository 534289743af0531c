"""The lit adapter format: saved in the corpus, loaded by ``lit:NAME``, projected without torch."""

from __future__ import annotations

import numpy as np
import pytest

from plait.align.train import Heads
from plait.encoders import load_encoder
from plait.encoders.lit import (
    AdapterConfig,
    HubPrior,
    adapter_names,
    load_adapter,
    save_adapter,
)
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
    cfg2, h2, prior = load_adapter(corpus, "demo")
    assert prior is None
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


def _unit(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    x = rng.normal(size=(n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_hub_prior_ranks_text_queries_by_the_corrected_score_and_keeps_the_rest() -> None:
    rng = np.random.default_rng(2)
    bank, images, texts = _unit(rng, 50, 8), _unit(rng, 20, 8), _unit(rng, 5, 8)
    prior = HubPrior(bank, k=3, weight=0.5)
    zi, zt = prior.image(images), prior.text(texts)
    np.testing.assert_allclose(np.linalg.norm(zi, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(zt, axis=1), 1.0, rtol=1e-5)
    r = np.sort(images @ bank.T, axis=1)[:, -3:].mean(axis=1)
    np.testing.assert_allclose(prior.hubness(images), r, rtol=1e-5)
    # text -> image: the corrected score, up to the factor sqrt(1 - b^2) on the cosine
    b = -0.5 * r
    want = (np.sqrt(1 - b * b)[None] * (texts @ images.T) + b[None]) / np.sqrt(2)
    np.testing.assert_allclose(zt @ zi.T, want, atol=1e-5)
    # a hub loses places: the image nearest the bank drops against a plain cosine ranking
    hub = int(np.argmax(r))
    plain_rank = (texts @ images.T > (texts @ images.T)[:, [hub]]).sum(1)
    new_rank = (zt @ zi.T > (zt @ zi.T)[:, [hub]]).sum(1)
    assert (new_rank >= plain_rank).all() and (new_rank > plain_rank).any()
    # image -> text and text -> text rank exactly as before
    for q, docs, raw in ((zi, zt, images @ texts.T), (zt, zt, texts @ texts.T)):
        np.testing.assert_array_equal(np.argsort(-(q @ docs.T), 1), np.argsort(-raw, 1))


def test_adapter_with_a_prior_roundtrips_and_needs_its_bank(corpus) -> None:  # noqa: ANN001
    h = _heads()
    bank = _unit(np.random.default_rng(3), 30, h.dim)
    cfg = AdapterConfig(
        "effnet-lite0", "minilm", [], h.dim, 3, temperature=h.temperature, hub_k=5, hub_weight=0.5
    )
    with pytest.raises(ConfigError, match="caption bank"):
        save_adapter(corpus, "hub", cfg, h)
    save_adapter(corpus, "hub", cfg, h, bank)
    enc = load_encoder("lit:hub", corpus=corpus)
    assert enc.dim == h.dim + 1
    x = np.ones((2, 10), np.float32)
    z = h.project(x, "image")
    np.testing.assert_allclose(
        enc.project_image_features(x), HubPrior(bank, 5, 0.5).image(z), atol=1e-3
    )  # the bank is stored as float16
    t = np.ones((1, 6), np.float32)
    np.testing.assert_allclose(
        enc.project_text_features(t), HubPrior.text(h.project(t, "text")), atol=1e-6
    )


def test_operators_compare_pairs_without_the_prior(corpus) -> None:  # noqa: ANN001
    """Similarity filters threshold plain cosines: ``load_checked`` leaves the prior out
    unless the spec asks for it."""
    from plait.ops.filters.similarity import load_checked

    h = _heads()
    bank = _unit(np.random.default_rng(4), 30, h.dim)
    cfg = AdapterConfig(
        "effnet-lite0", "minilm", [], h.dim, 3, temperature=h.temperature, hub_k=5, hub_weight=0.5
    )
    save_adapter(corpus, "hub", cfg, h, bank)
    plain = load_checked("lit:hub", str(corpus.path), "image", "text")
    assert plain.prior is None and plain.dim == h.dim
    x = np.ones((2, 10), np.float32)
    np.testing.assert_allclose(plain.project_image_features(x), h.project(x, "image"))
    assert load_checked("lit:hub?prior=1", str(corpus.path)).dim == h.dim + 1
    assert load_encoder("lit:hub?prior=0", corpus=corpus).dim == h.dim
    with pytest.raises(ConfigError, match="option prior takes 1 or 0"):
        load_encoder("lit:hub?prior=maybe", corpus=corpus)


def test_towers_load_once_when_first_used_from_many_threads(corpus, monkeypatch) -> None:  # noqa: ANN001
    """plait embed's decode threads all call prepare_image at once on a fresh encoder:
    each tower must be built once (two builds at once exported the network twice)."""
    import threading
    import time

    import plait.encoders.lit as lit

    h = _heads()
    cfg = AdapterConfig("effnet-lite0", "minilm", ["pooled", "stages"], h.dim, 3)
    save_adapter(corpus, "once", cfg, h)
    enc = load_encoder("lit:once", corpus=corpus)
    built: list[str] = []

    def slow_load(spec: str, **_: object) -> object:
        built.append(spec)
        time.sleep(0.05)  # long enough for every thread to arrive while it loads
        return object()

    monkeypatch.setattr(lit, "load_encoder", slow_load)
    got: list[object] = []
    threads = [
        threading.Thread(target=lambda: got.extend([enc.text_tower, enc.image_tower]))
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(built) == ["effnet-lite0", "minilm"]
    assert len({id(x) for x in got}) == 2

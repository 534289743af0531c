"""``hf:`` with small randomly initialised CLIP and SigLIP models saved to a directory."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from tiny_models import save_tiny_clip, save_tiny_siglip  # noqa: E402

from plait.encoders import load_encoder  # noqa: E402
from plait.errors import ConfigError, NotFoundError  # noqa: E402

pytest.importorskip("transformers")
TEXTS = ["a dog runs on the grass", "a cat", "the red ball in water", "a man"]


@pytest.fixture(scope="module", autouse=True)
def _one_thread() -> None:
    import torch

    torch.set_num_threads(1)


@pytest.fixture(scope="module", params=["clip", "siglip"])
def model_dir(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp(request.param)
    return save_tiny_clip(d) if request.param == "clip" else save_tiny_siglip(d)


def _images() -> list:
    from PIL import Image

    rng = np.random.default_rng(0)
    sizes = [(40, 30), (32, 32), (64, 48), (30, 50)]
    return [Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)) for w, h in sizes]


def test_shapes_normalisation_and_modalities(model_dir: Path) -> None:
    enc = load_encoder(f"hf:{model_dir}")
    assert enc.name == f"hf:{model_dir}"
    assert enc.modalities == frozenset({"text", "image"})
    t, v = enc.encode_text(TEXTS), enc.encode_images(_images())
    assert t.shape == (4, enc.dim) and v.shape == (4, enc.dim)
    assert t.dtype == np.float32 and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(t, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, rtol=1e-5)
    assert enc.encode_text([]).shape == (0, enc.dim)


def test_batch_of_one_equals_batch_of_n(model_dir: Path) -> None:
    enc = load_encoder(f"hf:{model_dir}", batch_size=3)  # forces a ragged last batch
    t, v = enc.encode_text(TEXTS), enc.encode_images(_images())
    for i in range(4):
        np.testing.assert_allclose(enc.encode_text([TEXTS[i]])[0], t[i], atol=1e-5)
        np.testing.assert_allclose(enc.encode_images([_images()[i]])[0], v[i], atol=1e-5)


@pytest.mark.parametrize("opts", ["?dtype=bf16", "?quant=int8"])
def test_bf16_and_int8_stay_close_to_fp32(model_dir: Path, opts: str) -> None:
    ref = load_encoder(f"hf:{model_dir}")
    enc = load_encoder(f"hf:{model_dir}{opts}")
    cos_t = np.sum(enc.encode_text(TEXTS) * ref.encode_text(TEXTS), axis=1)
    cos_v = np.sum(enc.encode_images(_images()) * ref.encode_images(_images()), axis=1)
    assert cos_t.min() > 0.98 and cos_v.min() > 0.98
    np.testing.assert_allclose(np.linalg.norm(enc.encode_text(TEXTS), axis=1), 1.0, rtol=1e-5)


def test_preprocessing_matches_the_transformers_image_processor(model_dir: Path) -> None:
    import warnings

    from transformers import AutoImageProcessor

    enc = load_encoder(f"hf:{model_dir}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        proc = AutoImageProcessor.from_pretrained(str(model_dir), local_files_only=True)
    ref = proc(images=_images(), return_tensors="np")["pixel_values"]
    ours = np.stack([enc.prepare_image(im) for im in _images()])
    assert ours.shape == ref.shape
    assert np.abs(ours - ref).max() < 0.05  # resampling filters differ by a grey level at most


def test_uint8_pixels_normalised_on_the_device_embed_as_the_float_path(model_dir: Path) -> None:
    """The embed pipeline hands over uint8 pixels and normalises in torch: same vectors."""
    enc = load_encoder(f"hf:{model_dir}")
    u8 = np.stack([enc.prepare_pixels(im) for im in _images()])
    assert u8.dtype == np.uint8 and u8.shape[1] == 3
    want = enc.encode_prepared(np.stack([enc.prepare_image(im) for im in _images()]))
    np.testing.assert_allclose(enc.encode_pixels(u8), want, atol=1e-5)
    assert enc.encode_pixels(u8[:0]).shape == (0, enc.dim)


def test_bad_options_and_paths(model_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="dtype must be one of"):
        load_encoder(f"hf:{model_dir}?dtype=fp8")
    with pytest.raises(ConfigError, match="quant"):
        load_encoder(f"hf:{model_dir}?quant=int4")
    with pytest.raises(NotFoundError, match="nothing is downloaded"):
        load_encoder(f"hf:{tmp_path / 'missing'}")


def test_loading_a_model_prints_no_progress_bar(tmp_path: Path) -> None:
    """A command's output is not interrupted by transformers' "Loading weights" bar
    (which the same load straight through transformers prints, so this can fail)."""
    import subprocess

    model_dir = save_tiny_clip(tmp_path)
    code = (
        "import sys, transformers\n"
        f"transformers.AutoModel.from_pretrained({str(model_dir)!r})\n"
        "print('--- plait ---', file=sys.stderr, flush=True)\n"
        "from plait.encoders import load_encoder\n"
        f"load_encoder('hf:{model_dir}')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    direct, _, plait = out.stderr.partition("--- plait ---")
    assert "Loading weights" in direct
    assert "Loading weights" not in plait and "%|" not in plait, plait

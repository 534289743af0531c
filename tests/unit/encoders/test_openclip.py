"""open_clip is an optional extra: a clear error without it, a real model with it."""

from __future__ import annotations

import importlib.util

import pytest

from plait.encoders import load_encoder
from plait.errors import MissingDependencyError

HAVE_OPEN_CLIP = importlib.util.find_spec("open_clip") is not None


@pytest.mark.skipif(HAVE_OPEN_CLIP, reason="open_clip is installed")
def test_missing_open_clip_names_the_extra() -> None:
    with pytest.raises(MissingDependencyError) as err:
        load_encoder("open_clip:ViT-B-32/laion2b_s34b_b79k")
    assert "pip install 'plait[openclip]'" in str(err.value)
    assert err.value.extra == "openclip"


@pytest.mark.skipif(not HAVE_OPEN_CLIP, reason="open_clip not installed (extra 'openclip')")
def test_open_clip_random_init_model_embeds_both_modalities() -> None:
    import numpy as np
    from PIL import Image

    enc = load_encoder("open_clip:ViT-B-32", device="cpu")  # no pretrained tag: random weights
    t = enc.encode_text(["a dog", "a cat"])
    v = enc.encode_images([Image.new("RGB", (64, 48), (200, 10, 10))])
    assert t.shape == (2, enc.dim) and v.shape == (1, enc.dim)
    np.testing.assert_allclose(np.linalg.norm(t, axis=1), 1.0, rtol=1e-5)

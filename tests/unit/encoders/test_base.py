"""The encoder registry and spec parsing (no models loaded)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from plait.encoders import encoder_names, l2_normalise, load_encoder
from plait.encoders.base import parse_spec
from plait.errors import ConfigError, UnknownNameError


def test_parse_spec_prefix_argument_and_options() -> None:
    assert parse_spec("minilm") == ("minilm", "", {})
    assert parse_spec("hf:openai/clip-vit-base-patch32") == (
        "hf",
        "openai/clip-vit-base-patch32",
        {},
    )
    assert parse_spec("hf:/m/clip?dtype=bf16&quant=int8") == (
        "hf",
        "/m/clip",
        {"dtype": "bf16", "quant": "int8"},
    )
    assert parse_spec("open_clip:ViT-B-32/laion2b_s34b_b79k")[:2] == (
        "open_clip",
        "ViT-B-32/laion2b_s34b_b79k",
    )
    assert parse_spec("lit:flickr") == ("lit", "flickr", {})


def test_unknown_spec_names_valid_ones_and_a_close_match() -> None:
    with pytest.raises(UnknownNameError) as err:
        load_encoder("minilmm")
    msg = str(err.value)
    assert "Did you mean 'minilm'" in msg and "effnet-lite0" in msg


def test_prefix_without_argument_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="needs something after"):
        load_encoder("hf:")


def test_unknown_option_fails_before_loading_a_model() -> None:
    with pytest.raises(ConfigError, match="no option 'dtpye'"):
        load_encoder("hf:/nowhere?dtpye=bf16")


def test_lit_needs_a_corpus() -> None:
    with pytest.raises(ConfigError, match="pass corpus="):
        load_encoder("lit:anything")


def test_encoder_names_lists_prefixes() -> None:
    assert {"minilm", "effnet-lite0", "hf:", "open_clip:", "lit:"} <= set(encoder_names())


def test_l2_normalise_unit_rows_and_zero_rows_stay_finite() -> None:
    x = l2_normalise(np.array([[3.0, 4.0], [0.0, 0.0]]))
    assert x.dtype == np.float32
    np.testing.assert_allclose(x[0], [0.6, 0.8], rtol=1e-6)
    assert np.all(np.isfinite(x[1]))


def test_importing_encoders_does_not_load_torch() -> None:
    code = "import plait.encoders, plait.embed, plait.align, sys; print('torch' in sys.modules, 'transformers' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]

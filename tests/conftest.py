"""Shared fixtures: where the real data lives, and fresh corpora."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

SHARED_DATA = Path(
    os.environ.get("PLAIT_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the checkout; tests that need it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real test data not found at {SHARED_DATA} (set PLAIT_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture()
def corpus(tmp_path: Path):
    from plait import Corpus

    return Corpus.init(tmp_path / "corpus")


@pytest.fixture(scope="session")
def smollm2():
    """SmolLM2-135M-Instruct through plait's smollm2 generator, loaded once per session
    (the first load ever de-quantises the GGUF into the cache: ~15 s on a quiet machine)."""
    from plait.errors import MissingDependencyError
    from plait.generators import load_generator

    try:
        return load_generator("smollm2?loader=transformers")
    except MissingDependencyError as exc:
        pytest.skip(str(exc))

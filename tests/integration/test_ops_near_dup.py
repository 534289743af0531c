"""Near-duplicate images on real photos: 200 re-encoded, resized and slightly cropped
copies of Flickr8k images among the 3,500 originals (the issue's acceptance check)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

BENCH = Path(__file__).resolve().parents[2] / "bench" / "curate.py"


def test_copies_found_and_originals_left_alone(
    shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLAIT_SHARED_DATA", str(shared_data))
    spec = importlib.util.spec_from_file_location("bench_curate", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # the same copy-maker and scoring the benchmark prints
    mod.DATA = shared_data
    result = mod.neardup_flickr()  # the operator's defaults: pHash, radius 4, 3 x 3 crops
    assert result["recall"] >= 0.95
    assert result["fp_rate"] < 0.01

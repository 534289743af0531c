"""``plait embed --executor ray`` gives the same rows as the local executor."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "encoders"))
from test_embed import add_pairs  # noqa: E402
from tiny_models import save_tiny_clip  # noqa: E402

from plait import Corpus  # noqa: E402
from plait.embed import embed  # noqa: E402
from plait.io.corpus import embeddings_table  # noqa: E402

pytestmark = pytest.mark.ray
pytest.importorskip("ray")


def _vectors(corpus: Corpus, spec: str) -> dict[tuple[str, int], np.ndarray]:
    rows = corpus.dataset(embeddings_table(spec)).to_table().to_pylist()
    return {(r["sample_id"], r["slot"]): np.array(r["vector"]) for r in rows}


def test_ray_matches_local(tmp_path: Path, shared_data: Path, ray_cluster: str) -> None:
    images = sorted((shared_data / "flickr8k" / "images").glob("*.jpg"))[:5]
    spec = f"hf:{save_tiny_clip(tmp_path / 'clip')}"
    local, remote = Corpus.init(tmp_path / "a"), Corpus.init(tmp_path / "b")
    for c in (local, remote):
        add_pairs(c, images, [f"caption {i}" for i in range(5)], "s")
    embed(local, spec, modality="image")
    counts = embed(remote, spec, modality="image", executor="ray", workers=1, batch_size=2)
    assert counts["images_embedded"] == 5
    a, b = _vectors(local, spec), _vectors(remote, spec)
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_allclose(a[k], b[k], atol=1e-5)

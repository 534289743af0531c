"""``plait eval CORPUS --benchmark`` end to end on real Flickr8k images.

A subset of the official test split is ingested exactly as a user would
(``plait ingest``), embedded with a randomly initialised CLIP through the
``hf:`` loader, and evaluated through the search path users call. A random
model must score near chance, the outputs (JSON, PNG, TREC run files) must be
there, the run files must give the same numbers when scored as TREC files,
and the run must be recorded in ``runs``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "encoders"))
from tiny_models import save_tiny_clip  # noqa: E402

pytest.importorskip("transformers")

N_IMAGES = 40


@pytest.fixture(scope="module", autouse=True)
def _one_thread() -> None:
    import torch

    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def flickr_subset(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first N_IMAGES test images (5 captions each) as a TSV beside the real image folder."""
    lines = (shared_data / "flickr8k" / "test.tsv").read_text(encoding="utf-8").splitlines()
    keep = [lines[0]] + lines[1 : 1 + 5 * N_IMAGES]
    folder = tmp_path_factory.mktemp("flickr8k")
    p = folder / "test.tsv"
    p.write_text("\n".join(keep) + "\n", encoding="utf-8")
    return p


def test_random_clip_scores_at_chance_and_leaves_every_output(
    flickr_subset: Path, shared_data: Path, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from plait import Corpus
    from plait.cli import app
    from plait.embed import embed
    from plait.eval.api import eval_files
    from plait.ingest import ingest

    corpus = Corpus.init(tmp_path / "corpus")
    report = ingest(
        corpus,
        str(flickr_subset),
        dataset="flickr8k-test",
        image_root=shared_data / "flickr8k" / "images",
    )
    assert report.added == N_IMAGES
    spec = f"hf:{save_tiny_clip(tmp_path / 'clip')}"
    embed(corpus, spec)

    out = tmp_path / "out"
    res = CliRunner().invoke(
        app,
        [
            "eval",
            str(corpus.path),
            "--benchmark",
            str(flickr_subset),
            "--image-root",
            str(shared_data / "flickr8k" / "images"),
            "--encoder",
            spec,
            "--out",
            str(out),
            "--depth",
            "20",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "t2i" in res.output and "i2t" in res.output and "S@10" in res.output

    result = json.loads((out / "results.json").read_text())
    t2i, i2t = result["tasks"]["t2i"], result["tasks"]["i2t"]
    assert (t2i["num_queries"], i2t["num_queries"]) == (5 * N_IMAGES, N_IMAGES)
    # one relevant image per caption: TREC recall and success coincide
    assert t2i["metrics"]["recall@10"] == pytest.approx(t2i["metrics"]["success@10"])
    # a random model is at chance: S@10 of 10 picks among 40 images is 0.25
    assert t2i["chance"]["success@10"] == pytest.approx(10 / N_IMAGES)
    assert abs(t2i["metrics"]["success@10"] - t2i["chance"]["success@10"]) < 0.2
    assert abs(i2t["metrics"]["success@10"] - i2t["chance"]["success@10"]) < 0.3
    assert (out / "recall_at_k.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # the written TREC files give the same numbers when scored on their own
    ev, _ = eval_files(out / "i2t.run", out / "i2t.qrels", ["recall@5", "ndcg@10", "map"])
    for m in ("recall@5", "ndcg@10", "map"):
        assert ev.mean[m] == pytest.approx(i2t["metrics"][m], abs=1e-12)

    runs = corpus.read("runs").to_pylist()
    row = next(r for r in runs if r["command"] == "eval")
    assert row["status"] == "ok" and row["run_id"] == result["run_id"]
    assert json.loads(row["counts"])["t2i"]["queries"] == 5 * N_IMAGES


def test_missing_images_fail_with_the_ingest_command(flickr_subset: Path, tmp_path: Path) -> None:
    from plait import Corpus
    from plait.errors import ConfigError
    from plait.eval.api import eval_benchmark

    corpus = Corpus.init(tmp_path / "corpus")
    with pytest.raises(ConfigError, match=r"of 40 images .* are not in .*plait ingest"):
        eval_benchmark(corpus, str(flickr_subset), "hf:nowhere")
    row = corpus.read("runs").to_pylist()[0]
    assert (row["command"], row["status"]) == ("eval", "failed")

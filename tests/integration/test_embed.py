"""``plait embed`` over a real corpus: rows, caching by content, resumption, runs, CLI."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "encoders"))
from tiny_models import save_tiny_clip  # noqa: E402

from plait import Corpus, Sample, Source  # noqa: E402
from plait.embed import embed  # noqa: E402
from plait.io.corpus import embeddings_table  # noqa: E402
from plait.io.media import (  # noqa: E402
    media_row,
    text_key,
)
from plait.schema import MEDIA, samples_table  # noqa: E402

pytest.importorskip("transformers")


@pytest.fixture(scope="module", autouse=True)
def _one_thread() -> None:
    import torch

    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_clip(tmp_path_factory.mktemp("clip"))


def add_pairs(corpus: Corpus, images: list[Path], captions: list[str], prefix: str) -> list[str]:
    """Write media rows and one pair sample per image, as ingest would."""
    media, samples = [], []
    for i, (path, cap) in enumerate(zip(images, captions, strict=True)):
        row = media_row(path.read_bytes())
        media.append(row)
        samples.append(
            Sample(
                id=f"{prefix}/{i}",
                kind="pair",
                texts=[None, cap],
                images=[row["id"], None],
                source=Source(uri=str(path), dataset=prefix),
            )
        )
    import pyarrow as pa

    known = corpus.ids("media") if corpus.has("media") else set()
    fresh = [m for m in media if m["id"] not in known]
    if fresh:
        corpus.append("media", pa.Table.from_pylist(fresh, schema=MEDIA))
    corpus.append("samples", samples_table(samples))
    return [s.id for s in samples]


@pytest.fixture()
def flickr_images(shared_data: Path) -> list[Path]:
    return sorted((shared_data / "flickr8k" / "images").glob("*.jpg"))[:6]


def _table(corpus: Corpus, spec: str):  # noqa: ANN202
    return corpus.dataset(embeddings_table(spec)).to_table().to_pylist()


def test_embed_writes_one_row_per_slot_and_matches_the_encoder(
    corpus: Corpus, clip_dir: Path, flickr_images: list[Path]
) -> None:
    from plait.encoders import load_encoder
    from plait.io.media import open_image

    caps = ["a dog runs", "a child", "a man on grass", "two dogs", "a red ball", "water"]
    add_pairs(corpus, flickr_images[:5], caps[:5], "a")
    spec = f"hf:{clip_dir}"
    counts = embed(corpus, spec, batch_size=2)
    assert counts["images_embedded"] == 5 and counts["texts_embedded"] == 5
    assert counts["rows_written"] == 10 and counts["failed"] == {}
    rows = _table(corpus, spec)
    assert sorted((r["sample_id"], r["slot"], r["modality"]) for r in rows) == sorted(
        [(f"a/{i}", 0, "image") for i in range(5)] + [(f"a/{i}", 1, "text") for i in range(5)]
    )
    assert Path(corpus.embeddings_path(spec)).is_dir()
    enc = load_encoder(spec)
    by_key = {(r["sample_id"], r["slot"]): np.array(r["vector"]) for r in rows}
    np.testing.assert_allclose(by_key[("a/3", 1)], enc.encode_text(["two dogs"])[0], atol=1e-5)
    img = open_image(flickr_images[2].read_bytes())
    np.testing.assert_allclose(by_key[("a/2", 0)], enc.encode_images([img])[0], atol=1e-5)
    text_row = next(r for r in rows if r["sample_id"] == "a/0" and r["slot"] == 1)
    assert text_row["content"] == text_key("a dog runs")
    run = [r for r in corpus.read("runs").to_pylist() if r["command"] == "embed"]
    assert len(run) == 1 and run[0]["status"] == "ok"


def test_rerun_costs_nothing_and_shared_content_is_reused(
    corpus: Corpus, clip_dir: Path, flickr_images: list[Path]
) -> None:
    spec = f"hf:{clip_dir}"
    add_pairs(corpus, flickr_images[:3], ["a dog", "a cat", "a man"], "a")
    embed(corpus, spec)
    again = embed(corpus, spec)
    assert again["cached"] == 6 and again["rows_written"] == 0
    assert again["images_embedded"] == 0 and again["texts_embedded"] == 0
    # A new sample repeating an image and a caption: copied vectors, no model work.
    add_pairs(corpus, [flickr_images[1], flickr_images[4]], ["a dog", "new words"], "b")
    more = embed(corpus, spec)
    assert more["reused"] == 2 and more["images_embedded"] == 1 and more["texts_embedded"] == 1
    rows = _table(corpus, spec)
    assert len(rows) == 10
    vec = {(r["sample_id"], r["slot"]): r["vector"] for r in rows}
    assert vec[("b/0", 0)] == vec[("a/1", 0)] and vec[("b/0", 1)] == vec[("a/0", 1)]


def test_modality_filter_and_where(
    corpus: Corpus, clip_dir: Path, flickr_images: list[Path]
) -> None:
    spec = f"hf:{clip_dir}"
    add_pairs(corpus, flickr_images[:2], ["x", "y"], "a")
    add_pairs(corpus, flickr_images[2:4], ["z", "w"], "b")
    counts = embed(corpus, spec, modality="text", where="source.dataset = 'b'")
    assert counts["texts_embedded"] == 2 and counts["images_embedded"] == 0
    assert {r["sample_id"] for r in _table(corpus, spec)} == {"b/0", "b/1"}


def test_text_only_encoder_skips_images(corpus: Corpus, flickr_images: list[Path]) -> None:
    add_pairs(corpus, flickr_images[:2], ["a black dog jumps", "a girl in pink"], "a")
    counts = embed(corpus, "minilm")
    assert counts["texts_embedded"] == 2 and counts["images_embedded"] == 0 and counts["dim"] == 384


def test_cli_embed_prints_counts_and_records_a_run(
    corpus: Corpus, clip_dir: Path, flickr_images: list[Path]
) -> None:
    from typer.testing import CliRunner

    from plait.cli import app

    add_pairs(corpus, flickr_images[:2], ["a dog", "a cat"], "a")
    res = CliRunner().invoke(
        app, ["embed", str(corpus.path), "--encoder", f"hf:{clip_dir}", "--json"]
    )
    assert res.exit_code == 0, res.output
    assert '"rows_written": 4' in res.output
    bad = CliRunner().invoke(app, ["embed", str(corpus.path), "--encoder", "clipp"])
    assert bad.exit_code != 0


def test_changed_content_replaces_the_old_row(
    corpus: Corpus, clip_dir: Path, flickr_images: list[Path]
) -> None:
    spec = f"hf:{clip_dir}"
    add_pairs(corpus, flickr_images[:2], ["a dog", "a cat"], "a")
    embed(corpus, spec, modality="text")
    old = corpus.sample("a/1")
    corpus.delete("samples", "id = 'a/1'")
    old.texts[1] = "a cat on a red ball"
    corpus.append("samples", samples_table([old]))
    counts = embed(corpus, spec, modality="text")
    assert counts["replaced"] == 1 and counts["texts_embedded"] == 1 and counts["cached"] == 1
    rows = {(r["sample_id"], r["slot"]): r["content"] for r in _table(corpus, spec)}
    assert rows == {("a/0", 1): text_key("a dog"), ("a/1", 1): text_key("a cat on a red ball")}


def test_lang_follows_one_rule_tag_else_detected(corpus: Corpus, clip_dir: Path) -> None:
    """Untagged English captions count as English once language_id detected them; tagged
    translations are chosen by their tags; a caption of unknown language is left out and
    counted, so ``--lang en`` never silently embeds nothing."""
    from typer.testing import CliRunner

    from plait.cli import app
    from plait.curate import curate

    src = Source(uri="mem", dataset="m")
    rows = [
        Sample(
            "m/flickr",
            "text",
            ["A dog runs across the green field.", "A brown dog running."],
            [None, None],
            src,
        ),
        Sample(
            "m/stamp",
            "text",
            ["apple", "Apfel", "pomme"],
            [None] * 3,
            src,
            langs=["en", "de", "fr"],
        ),
        Sample("m/other", "text", ["Ein Hund rennt über die grüne Wiese."], [None], src),
    ]
    corpus.append("samples", samples_table(rows))
    spec = f"hf:{clip_dir}"
    before = embed(corpus, spec, langs=["en"])
    assert before["texts_embedded"] == 1 and before["unknown_lang"] == 3
    recipe = [{"op": "language_id", "mode": "annotate"}]
    curate(corpus, recipe, workers=0, resume=False)
    assert corpus.sample("m/flickr").stats["lang"] == "en"
    res = CliRunner().invoke(
        app, ["embed", str(corpus.path), "--encoder", spec, "--lang", "en", "--json"]
    )
    assert res.exit_code == 0, res.output
    embedded = {(r["sample_id"], r["slot"]) for r in _table(corpus, spec)}
    assert embedded == {("m/flickr", 0), ("m/flickr", 1), ("m/stamp", 0)}
    unknown = CliRunner().invoke(
        app, ["embed", str(corpus.path), "--encoder", spec, "--lang", "fr"]
    )
    assert unknown.exit_code == 0 and "--lang none" not in unknown.output  # all known now
    assert ("m/stamp", 2) in {(r["sample_id"], r["slot"]) for r in _table(corpus, spec)}

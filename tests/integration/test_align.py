"""``plait align`` on real Flickr8k pairs with the real frozen towers (small and quick)."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_embed import add_pairs  # noqa: E402

from plait import Corpus  # noqa: E402

pytestmark = [pytest.mark.models, pytest.mark.slow]


@pytest.fixture(scope="module", autouse=True)
def _one_thread() -> None:
    import torch

    torch.set_num_threads(1)


def flickr_pairs(shared_data: Path, n: int) -> tuple[list[Path], list[list[str]]]:
    caps: dict[str, list[str]] = {}
    with open(shared_data / "flickr8k" / "train.tsv", newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            caps.setdefault(row["image"], []).append(row["caption"])
    names = sorted(caps)[:n]
    return [shared_data / "flickr8k" / "images" / x for x in names], [caps[x] for x in names]


def add_caption_pairs(corpus: Corpus, images: list[Path], captions: list[list[str]]) -> None:
    """One pair sample per image: the image slot, then its captions."""
    from plait.schema import Sample, Source, samples_table

    add_pairs(corpus, images, [c[0] for c in captions], "tmp")  # writes the media rows
    corpus.delete("samples", "id LIKE 'tmp/%'")
    rows = corpus.read("media", columns=["id"]).column("id").to_pylist()
    from plait.io.media import sha256

    ids = [sha256(p.read_bytes()) for p in images]
    assert set(ids) <= set(rows)
    samples = [
        Sample(
            id=f"flickr/{p.name}",
            kind="pair",
            texts=[None, *caps],
            images=[mid] + [None] * len(caps),
            source=Source(uri=str(p), dataset="flickr"),
        )
        for p, mid, caps in zip(images, ids, captions, strict=True)
    ]
    corpus.append("samples", samples_table(samples))


def test_align_trains_reports_saves_and_reuses_cached_features(
    corpus: Corpus, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from plait.align import TrainConfig, align
    from plait.encoders import load_encoder

    images, captions = flickr_pairs(shared_data, 16)
    add_caption_pairs(corpus, images, captions)
    cfg = TrainConfig(steps=30, seeds=2, batch_size=64)
    rep = align(corpus, name="tiny", holdout=0.25, config=cfg)
    assert rep.images == 16 and rep.heldout_images == 4 and rep.captions == 80
    assert rep.langs == {"none": 80}  # Flickr captions: untagged, no language_id run
    assert set(rep.metrics) == {f"{d}_R@{k}" for d in ("t2i", "i2t") for k in (1, 5, 10)}
    assert all(0.0 <= v <= 100.0 for v in rep.metrics.values())
    assert (corpus.path / "adapters" / "tiny" / "config.json").is_file()
    assert any(
        r["command"] == "align" and r["status"] == "ok" for r in corpus.read("runs").to_pylist()
    )

    # lit:NAME puts both modalities in one 513-d space (2 seeds x 256, and the hubness
    # prior's coordinate: an image's penalty, a text's constant)
    lit = load_encoder("lit:tiny", corpus=corpus)
    from plait.io.media import open_image

    v = lit.encode_images([open_image(images[0].read_bytes())])
    t = lit.encode_text([captions[0][0], "a completely unrelated sentence about tax law"])
    assert v.shape == (1, 513) and t.shape == (2, 513)
    np.testing.assert_allclose(np.linalg.norm(np.vstack([v, t]), axis=1), 1.0, rtol=1e-5)
    assert v[0, -1] < 0 and np.allclose(t[:, -1], 1 / np.sqrt(2), atol=1e-6)
    assert float(v[0] @ t[0]) > float(v[0] @ t[1])  # its own caption above an unrelated one

    # A rerun reads every frozen feature from the corpus cache: no tower is even built.
    def no_towers(spec: str, **_: object) -> None:
        raise AssertionError(f"tower {spec} loaded on a cached rerun")

    monkeypatch.setattr("plait.align.features.load_encoder", no_towers)
    again = align(corpus, name="tiny2", holdout=0.25, config=cfg)
    assert again.images == 16
    assert again.metrics == rep.metrics  # same seed, same features, same split

    from typer.testing import CliRunner

    from plait.cli import app

    args = [
        "align",
        str(corpus.path),
        "--name",
        "cli",
        "--holdout",
        "0.25",
        "--steps",
        "5",
        "--seeds",
        "1",
    ]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "lit:cli" in res.output and "t2i_R@1" in res.output


def test_embedding_the_aligned_pairs_reuses_the_features_align_cached(
    corpus: Corpus, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`plait embed --encoder lit:NAME` after `plait align` projects the cached tower
    features instead of running the towers again, and gets the towers' own vectors."""
    from plait.align import TrainConfig, align
    from plait.embed import embed
    from plait.encoders import load_encoder
    from plait.io.media import open_image

    images, captions = flickr_pairs(shared_data, 8)
    add_caption_pairs(corpus, images, captions)
    align(corpus, name="reuse", holdout=0.0, config=TrainConfig(steps=5, seeds=1, batch_size=32))
    fresh = load_encoder("lit:reuse", corpus=corpus)
    want_img = fresh.encode_images([open_image(images[0].read_bytes())])[0]
    want_txt = fresh.encode_text([captions[0][0]])[0]

    def no_towers(spec: str, **_: object) -> None:
        raise AssertionError(f"tower {spec} loaded although align cached its features")

    monkeypatch.setattr("plait.encoders.lit.load_encoder", no_towers)
    counts = embed(corpus, "lit:reuse")
    assert counts["reused"] == 8 + 40 and counts["images_embedded"] == 0
    import lance

    tbl = lance.dataset(str(corpus.embeddings_path("lit:reuse"))).to_table().to_pylist()
    first = f"flickr/{images[0].name}"
    got = {r["slot"]: np.asarray(r["vector"]) for r in tbl if r["sample_id"] == first}
    np.testing.assert_allclose(got[0], want_img, atol=1e-4)
    np.testing.assert_allclose(got[1], want_txt, atol=1e-4)


def test_align_without_pairs_is_a_config_error(corpus: Corpus) -> None:
    from plait.align import align
    from plait.errors import ConfigError

    with pytest.raises(ConfigError, match="needs image-text pairs"):
        align(corpus, name="x")


def test_a_recipe_of_two_towers_and_a_view_trains_embeds_and_shows_its_cost(
    corpus: Corpus, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--image effnet-lite1[pooled]+effnet-lite0[pooled]@flip`: each (tower, view) is
    cached on its own and reported; lit: computes the same features from pixels as it
    projects from the caches; a later recipe sharing a tower computes only what is new."""
    from typer.testing import CliRunner

    from plait.align import TrainConfig, align
    from plait.cli import app
    from plait.embed import embed
    from plait.encoders import load_encoder
    from plait.io.media import open_image, text_key

    images, captions = flickr_pairs(shared_data, 8)
    add_caption_pairs(corpus, images, captions)
    recipe = "effnet-lite1[pooled]+effnet-lite0[pooled]@flip"
    cfg = TrainConfig(steps=5, seeds=1, batch_size=32)
    rep = align(corpus, image=recipe, text="minilm", name="two", holdout=0.0, config=cfg)
    assert rep.image == recipe
    used = {u.table: u for u in rep.features}
    assert set(used) == {
        "cache/features/effnet-lite1_pooled",
        "cache/features/effnet-lite1_pooled_flip",
        "cache/features/effnet-lite0_pooled",
        "cache/features/effnet-lite0_pooled_flip",
        "cache/features/minilm_embedding",
    }
    assert all(u.computed == 8 and u.reused == 0 for k, u in used.items() if "minilm" not in k)
    assert used["cache/features/minilm_embedding"].computed == 40
    assert rep.seconds["total"] >= rep.seconds["features"] > 0

    lit = load_encoder("lit:two", corpus=corpus)
    # one seed's 256 and the hubness prior's coordinate, over a bank of the 40 captions
    assert lit.dim == 257 and lit.prior is not None and lit.prior.bank.shape == (40, 256)
    direct = lit.encode_images([open_image(p.read_bytes()) for p in images[:3]])
    counts = embed(corpus, "lit:two")
    assert counts["images_embedded"] == 0 and counts["reused"] == 8 + 40
    import lance

    rows = lance.dataset(str(corpus.embeddings_path("lit:two"))).to_table().to_pylist()
    stored = {r["sample_id"]: np.asarray(r["vector"]) for r in rows if r["slot"] == 0}
    for p, v in zip(images[:3], direct, strict=True):
        np.testing.assert_allclose(stored[f"flickr/{p.name}"], v, atol=1e-4)

    # A recipe sharing Lite0's caches computes only Lite0's default parts, and says so; a
    # text tower read from several layers is a text tower of its own, with its own cache.
    text = "minilm?layers=4,5,6"
    res = CliRunner().invoke(
        app,
        ["align", str(corpus.path), "--name", "cli2", "--image", "effnet-lite0[pooled]",
         "--text", text, "--holdout", "0.25", "--steps", "5", "--seeds", "1"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    out = " ".join(res.output.replace("│", " ").split())
    assert "cache/features/effnet-lite0_pooled 1280 8 0" in out
    layered = corpus.dataset("cache/features/minilm_layers_4_5_6_embedding")
    assert layered is not None and layered.count_rows() == 40
    assert "wall time" in res.output and "reused" in res.output
    cli2 = load_encoder("lit:cli2", corpus=corpus)
    cached = cli2.cached_vectors(corpus, {text_key(captions[0][0]): captions[0][0]}, [])
    np.testing.assert_allclose(
        cached[text_key(captions[0][0])], cli2.encode_text([captions[0][0]])[0], atol=1e-5
    )
    bad = CliRunner().invoke(app, ["align", str(corpus.path), "--image", "effnet-lite0@zoom"])
    assert bad.exit_code != 0 and "unknown view 'zoom'" in str(bad.exception)

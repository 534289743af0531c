"""Search through the real server: every query kind of the Query contract, with real
encoders (MiniLM for text, EfficientNet-Lite0 for images) over a generated corpus."""

from __future__ import annotations

import json

import httpx
import pytest

pytest.importorskip("fastapi")

from plait.client import PlaitClient  # noqa: E402
from plait.embed import embed  # noqa: E402
from plait.errors import PlaitError, UnknownNameError  # noqa: E402
from plait.server import create_app  # noqa: E402

from ..synth import ServerThread, synth_corpus  # noqa: E402

pytestmark = pytest.mark.models
KEY = "k"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):
    import torch

    torch.set_num_threads(1)
    from plait.index import index

    root = tmp_path_factory.mktemp("search")
    corpus = synth_corpus(root / "c", 48)
    try:
        embed(corpus, "minilm")
        embed(corpus, "effnet-lite0")
    except PlaitError as exc:
        pytest.skip(f"encoders cannot load here: {exc}")
    index(corpus)
    app = create_app(root / "c", api_key=KEY, export_root=root / "exports")
    with ServerThread(app) as srv, PlaitClient(srv.url, api_key=KEY) as client:
        yield srv, client, corpus


def test_text_search_returns_captions_and_score_parts(served):
    _, c, _ = served
    res = c.search("a red circle", k=5)
    assert 1 <= len(res.hits) <= 5
    top = res.hits[0]
    assert top.parts["vector"] == pytest.approx(top.score)
    assert top.sample is not None and "red" in top.sample.caption and "circle" in top.sample.caption
    scores = [h.score for h in res.hits]
    assert scores == sorted(scores, reverse=True)


def test_hybrid_and_bm25(served):
    _, c, _ = served
    hy = c.search("red circle", k=5, hybrid=True)
    assert {"rrf", "vector", "bm25"} <= set(hy.hits[0].parts)
    bm = c.search("circle", k=5, fulltext=True)
    assert bm.hits and all("circle" in h.sample.caption for h in bm.hits)
    assert set(bm.hits[0].parts) == {"bm25"}


def test_paging_does_not_repeat(served):
    _, c, _ = served
    p1 = c.search("a blue square", k=4, offset=0)
    p2 = c.search("a blue square", k=4, offset=4)
    assert not {h.sample_id for h in p1.hits} & {h.sample_id for h in p2.hits}
    both = c.search("a blue square", k=8)
    assert [h.sample_id for h in both.hits] == [h.sample_id for h in p1.hits + p2.hits]


def test_where_filters_and_ranges(served):
    _, c, _ = served
    res = c.search("a shape", k=10, filters={"licences": ["CC0-1.0"], "kinds": ["pair"]})
    assert res.hits and all(h.sample.licence == "CC0-1.0" and h.kind == "pair" for h in res.hits)
    res = c.search("a shape", k=10, where="source.dataset = 'synth-b'")
    assert res.hits and all(h.sample.dataset == "synth-b" for h in res.hits)
    res = c.search("a shape", k=10, filters={"stats": {"clip_score": [0.5, None]}}, min_score=0.1)
    for h in res.hits:
        assert c.sample(h.sample_id).stats["clip_score"] >= 0.5 and h.score >= 0.1
    res = c.search("a shape", k=10, filters={"langs": ["de"]})
    assert res.hits and all("de" in h.sample.langs for h in res.hits)


def test_like_is_more_like_this(served):
    _, c, _ = served
    res = c.search(like="synth-a/000000", k=5)
    assert res.hits and "synth-a/000000" not in [h.sample_id for h in res.hits]


def test_image_upload_finds_the_same_image(served):
    _, c, corpus = served
    target = next(s for s in corpus.samples() if s.kind == "pair")
    data = corpus.media_bytes(target.images[0])
    res = c.search(image=data, k=3, modality="image")
    assert res.hits[0].sample_id == target.id
    assert res.hits[0].score == pytest.approx(1.0, abs=1e-3)


def test_composed_query_without_cross_modal_encoder_is_a_clear_error(served):
    srv, _, corpus = served
    data = corpus.media_bytes(next(s for s in corpus.samples() if s.kind == "pair").images[0])
    r = httpx.post(
        srv.url + "api/corpora/c/search/image",
        files={"image": ("q.png", data)},
        data={"query": json.dumps({"text": "but blue"})},
    )
    assert 400 <= r.status_code < 500
    assert "embeds image and text" in r.json()["message"]


def test_adaptive_and_modality(served):
    _, c, _ = served
    res = c.search("a green triangle", k=20, adaptive=True)
    assert 1 <= len(res.hits) <= 20
    res = c.search("a green triangle", k=5, modality="text", rollup=False)
    assert all(h.slot is not None for h in res.hits)


def test_unknown_encoder_lists_the_embedded_ones(served):
    srv, c, _ = served
    r = httpx.post(srv.url + "api/corpora/c/search", json={"text": "x", "encoder": "clip-xl"})
    assert r.status_code in (404, 422)
    assert set(r.json()["valid"]) == {"minilm", "effnet-lite0"}
    with pytest.raises(UnknownNameError):
        c.search("x", encoder="minilmm")


def test_export_the_hits_of_a_query(served):
    _, c, corpus = served
    ids = [h.sample_id for h in c.search("a red circle", k=6).hits]
    job = c.export("parquet", "red", query={"text": "a red circle", "k": 6})
    assert job.status == "done", job.error
    import pyarrow.parquet as pq

    out = corpus.path.parent / "exports" / "red"
    tbl = pq.read_table(out / "00000.parquet")
    assert tbl.column("id").to_pylist() == ids
    assert job.report["selected"] == job.report["exported"] == len(ids)


def test_a_preloading_server_has_its_query_encoders_before_the_first_query(served):
    """``plait serve`` (preload on) loads the encoders of a plain text and a plain image
    query in the background at start; the first queries then find them loaded."""
    import time

    _, _, corpus = served
    app = create_app(corpus.path, preload=True)
    with ServerThread(app) as srv, PlaitClient(srv.url) as client:
        search = app.state.plait.searches[next(iter(app.state.plait.searches))]
        deadline = time.monotonic() + 60
        while len(search._loaded) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert search._loaded == {"minilm", "effnet-lite0"}
        assert client.search("a red circle", k=3).hits  # answered by the loaded encoder

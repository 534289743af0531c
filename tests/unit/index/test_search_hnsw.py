"""``search()`` through the HNSW path gives what the exact path gives, before and after appends."""

from __future__ import annotations

import pytest

from plait.errors import ConfigError
from plait.index import hnsw, index
from plait.index.vector import VectorIndexConfig, describe
from plait.retrieval import Query, search

from ..retrieval.conftest import COLOURS, FakeEncoder, add_text_sample, build_corpus, png

pytest.importorskip("lance")
pytest.importorskip("faiss")

HNSW = VectorIndexConfig(threshold=1, ef=64)
EXACT = VectorIndexConfig(backend="lance")  # no Lance index is built: Lance scans exactly

QUERIES = [
    Query(text="red square", k=4),
    Query(text="red square", where="source.licence = 'GPL-2'", k=3),
    Query(text="green", modality="image", k=4),
    Query(image=png(COLOURS["blue"]), modality="image", k=2),
    Query(like="pair/red-MIT", k=3),
    Query(text="dense vectors retrieval", k=3),
    Query(text="dense vectors retrieval", kind="page", k=3),
    Query(text="red square", rollup=False, k=5),
    Query(text="cat mat", hybrid=True, k=3),
]


def same(a, b) -> None:
    """Same scores in the same order, and the same hits per score (ties may swap places).

    The group of the last score is left out: which of several tied hits makes the
    cut is arbitrary on either path.
    """
    assert [h.score for h in a] == pytest.approx([h.score for h in b], abs=1e-5)

    def groups(hits):
        out: dict[float, set] = {}
        for h in hits:
            out.setdefault(round(h.score, 4), set()).add((h.sample_id, h.slot, tuple(h.pages)))
        last = round(hits[-1].score, 4) if hits else None
        return {s: g for s, g in out.items() if s != last}

    assert groups(a) == groups(b)


def test_every_query_kind_matches_the_exact_path(corpus) -> None:
    fake = FakeEncoder()
    build_corpus(corpus, fake)
    report = index(corpus, config=HNSW)
    assert report.vectors["fake"]["action"] == "built"
    assert report.vectors["fake"]["index"] == "HNSW32_FLAT"
    assert hnsw.files(corpus.embeddings_path("fake"))["index"].is_file()
    for q in QUERIES:
        same(
            search(corpus, q, encoder=fake, config=HNSW),
            search(corpus, q, encoder=fake, config=EXACT),
        )


def test_new_samples_are_found_before_and_after_reindexing(corpus) -> None:
    fake = FakeEncoder()
    build_corpus(corpus, fake)
    index(corpus, config=HNSW)
    add_text_sample(corpus, fake, "text/zebra", "zebra stripes")
    for cfg in (HNSW, EXACT):
        hits = search(corpus, Query(text="zebra stripes", k=2), encoder=fake, config=cfg)
        assert hits[0].sample_id == "text/zebra" and hits[0].score == pytest.approx(1.0, abs=1e-5)
    q = Query(text="zebra stripes", where="source.licence = 'MIT'", k=3)
    same(
        search(corpus, q, encoder=fake, config=HNSW), search(corpus, q, encoder=fake, config=EXACT)
    )
    report = index(corpus, config=HNSW, fulltext=False)
    assert report.vectors["fake"]["action"] == "extended"
    assert report.vectors["fake"]["unindexed_rows"] == 0
    hits = search(corpus, Query(text="zebra stripes", k=1), encoder=fake, config=HNSW)
    assert hits[0].sample_id == "text/zebra"


def test_plait_index_storage_option_rebuilds_as_fp16_and_answers_alike(corpus) -> None:
    import json

    import lance
    from typer.testing import CliRunner

    from plait.cli import app

    fake = FakeEncoder()
    build_corpus(corpus, fake)
    index(corpus, config=HNSW)
    flat = [search(corpus, q, encoder=fake, config=HNSW) for q in QUERIES]
    args = ["index", str(corpus.path), "--threshold", "1", "--storage", "fp16", "--json"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    vectors = json.loads(res.output)["vectors"]["fake"]
    assert (vectors["action"], vectors["index"]) == ("rebuilt", "HNSW32_FP16")
    for q, before in zip(QUERIES, flat):  # float re-rank: the same scores as float storage
        same(search(corpus, q, encoder=fake, config=HNSW), before)
    bad = CliRunner().invoke(app, ["index", str(corpus.path), "--storage", "int4"])
    assert isinstance(bad.exception, ConfigError) and "int4" in str(bad.exception)
    assert describe(lance.dataset(str(corpus.embeddings_path("fake"))))["index"] == "HNSW32_FP16"

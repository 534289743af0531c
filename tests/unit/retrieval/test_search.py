"""search() over a real small corpus with the fake encoder: every query kind a user asks for."""

from __future__ import annotations

import numpy as np
import pytest

from plait.errors import ConfigError, PlaitError, UnknownNameError
from plait.index import index
from plait.retrieval import Hit, Query, search, search_batch
from plait.retrieval.encoding import query_vector

from .conftest import COLOURS, FakeEncoder, add_text_sample, build_corpus, png

pytest.importorskip("lance")


def ids(hits: list[Hit]) -> list[str]:
    return [h.sample_id for h in hits]


def test_text_query_scores_are_cosine_and_samples_attached(small, fake) -> None:
    hits = search(small, Query(text="red square", k=3), encoder=fake)
    assert set(ids(hits)[:2]) == {"pair/red-MIT", "pair/red-GPL-2"}
    top = hits[0]
    assert top.score == top.parts["vector"] and top.kind == "pair" and top.slot in (0, 1)
    assert top.sample is not None and top.sample.id == top.sample_id
    q = fake.encode_text(["red square"])[0]
    slot_vec = fake.encode_text([top.sample.texts[1]])[0] if top.slot == 1 else None
    if slot_vec is not None:
        assert top.score == pytest.approx(float(q @ slot_vec), abs=1e-5)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_where_over_nested_source_and_kind(small, fake) -> None:
    hits = search(
        small, Query(text="red square", where="source.licence = 'GPL-2'", k=5), encoder=fake
    )
    assert hits[0].sample_id == "pair/red-GPL-2"
    assert {h.sample.source.licence for h in hits} == {"GPL-2"}
    assert ids(search(small, Query(text="cat", kind="text", k=5), encoder=fake)) == ["text/cat"]
    assert search(small, Query(text="cat", where="source.licence = 'none'"), encoder=fake) == []
    with pytest.raises(ConfigError, match="where"):
        search(small, Query(text="cat", where="no_such_column = 1"), encoder=fake)


def test_modality_restricts_matching_slots(small, fake) -> None:
    hits = search(small, Query(text="green", modality="image", k=6), encoder=fake)
    assert {h.slot for h in hits} == {0}
    assert set(ids(hits)[:2]) == {"pair/green-MIT", "pair/green-GPL-2"}


def test_image_query_and_composed_image_plus_text(small, fake) -> None:
    hits = search(small, Query(image=png(COLOURS["blue"]), modality="image", k=2), encoder=fake)
    assert set(ids(hits)) == {"pair/blue-MIT", "pair/blue-GPL-2"}
    assert hits[0].score == pytest.approx(1.0, abs=1e-5)
    # The red image alone ties the two red captions; "gpl-2" says which one.
    composed = search(
        small, Query(image=png(COLOURS["red"]), text="gpl-2", modality="text", k=3), encoder=fake
    )
    assert composed[0].sample_id == "pair/red-GPL-2"
    q = Query(image=png(COLOURS["red"]), text="gpl-2", text_weight=0.25)
    from PIL import Image

    ref = fake.encode_images([Image.new("RGB", (8, 8), COLOURS["red"])])[0]
    txt = fake.encode_text(["gpl-2"])[0]
    want = 0.75 * ref + 0.25 * txt
    assert np.allclose(query_vector(q, fake, None), want / np.linalg.norm(want), atol=1e-6)


def test_more_like_this_uses_the_samples_vectors_and_leaves_it_out(small, fake) -> None:
    hits = search(small, Query(like="pair/red-MIT", k=3), encoder=fake)
    assert "pair/red-MIT" not in ids(hits)
    assert hits[0].sample_id == "pair/red-GPL-2"


def test_pages_roll_up_to_their_document(small, fake) -> None:
    hits = search(small, Query(text="dense vectors retrieval", k=3), encoder=fake)
    assert hits[0].sample_id == "doc/paper" and hits[0].kind == "document"
    assert hits[0].pages[0] == "doc/paper#1" and set(hits[0].pages) <= {
        f"doc/paper#{i}" for i in range(3)
    }
    assert hits[0].sample is not None and hits[0].sample.kind == "document"
    assert len(set(ids(hits))) == 3  # k distinct hits although pages collapse
    pages = search(small, Query(text="dense vectors retrieval", kind="page", k=3), encoder=fake)
    assert pages[0].sample_id == "doc/paper#1" and pages[0].kind == "page"
    # a where that keeps only pages gets pages, not their (filtered out) document
    where = search(
        small, Query(text="dense vectors retrieval", where="kind = 'page'"), encoder=fake
    )
    assert where and all(h.kind == "page" for h in where)
    assert where[0].sample_id == "doc/paper#1"


def test_without_rollup_each_matching_slot_is_a_hit(small, fake) -> None:
    hits = search(small, Query(text="red square", rollup=False, k=4), encoder=fake)
    red = [(h.sample_id, h.slot) for h in hits if h.sample_id.startswith("pair/red")]
    assert len(red) == 4 and len(set(red)) == 4  # image and caption slots of both red pairs


def test_fulltext_and_hybrid_show_score_parts(small, fake) -> None:
    bm = search(small, Query(text="bread baking", fulltext=True, k=3))
    assert bm[0].sample_id == "doc/paper" and set(bm[0].parts) == {"bm25"}
    assert (
        search(small, Query(text="bread baking", fulltext=True, kind="page"))[0].sample_id
        == "doc/paper#2"
    )
    hy = search(small, Query(text="cat mat", hybrid=True, k=3), encoder=fake)
    assert hy[0].sample_id == "text/cat"
    p = hy[0].parts
    assert {"vector", "bm25", "rrf", "vector_rank", "bm25_rank"} <= set(p)
    assert (
        hy[0].score
        == p["rrf"]
        == pytest.approx(1 / (60 + p["vector_rank"]) + 1 / (60 + p["bm25_rank"]))
    )


def test_adaptive_cuts_after_the_clear_match(small, fake) -> None:
    full = search(small, Query(text="cat sat on the mat", k=6), encoder=fake)
    cut = search(small, Query(text="cat sat on the mat", k=6, adaptive=True), encoder=fake)
    assert len(full) == 6 and ids(cut) == ["text/cat"]


def test_reranker_hook_reorders_the_candidates(small, fake) -> None:
    seen: list[int] = []

    class PreferCats:
        def rerank(self, query: Query, hits: list[Hit]) -> list[Hit]:
            seen.append(len(hits))
            return sorted(hits, key=lambda h: h.sample_id != "text/cat")

    hits = search(small, Query(text="red square", k=2), encoder=fake, reranker=PreferCats())
    assert hits[0].sample_id == "text/cat" and seen and seen[0] >= 2


def test_search_batch_matches_single_searches(small, fake) -> None:
    qs = [
        Query(text="red square"),
        Query(text="bread", hybrid=True),
        Query(like="text/cat", k=2),
        Query(text="dog", fulltext=True),
    ]
    batch = search_batch(small, qs, encoder=fake)
    assert [ids(b) for b in batch] == [ids(search(small, q, encoder=fake)) for q in qs]


def test_search_batch_takes_stored_vectors_of_query_images_it_has_embedded(small, fake) -> None:
    """An image query whose bytes the corpus already embedded (an evaluation's i2t queries)
    is looked up by content hash, not encoded again; an unseen image is encoded."""

    class Counting(FakeEncoder):
        images = 0

        def encode_images(self, images):  # noqa: ANN001, ANN202
            Counting.images += len(images)
            return super().encode_images(images)

    enc = Counting()
    qs = [
        Query(image=png(COLOURS["red"]), modality="text", k=3),
        Query(image=png(COLOURS["blue"]), k=2),
        Query(image=png((128, 0, 128)), k=2),  # purple: not in the corpus
        Query(image=png(COLOURS["green"]), text="gpl-2", modality="text", k=2),
    ]
    batch = search_batch(small, qs, encoder=enc)
    assert Counting.images == 1  # only the purple square went through the encoder
    single = [search(small, q, encoder=fake) for q in qs]
    assert [ids(b) for b in batch] == [ids(s) for s in single]
    for b, s in zip(batch, single, strict=True):
        assert [h.score for h in b] == pytest.approx([h.score for h in s], abs=1e-6)
    assert set(ids(batch[0])[:2]) == {"pair/red-MIT", "pair/red-GPL-2"}
    assert batch[3][0].sample_id == "pair/green-GPL-2"


def test_samples_added_after_indexing_are_found(small, fake) -> None:
    add_text_sample(small, fake, "text/zebra", "zebra stripes")
    hits = search(small, Query(text="zebra stripes", hybrid=True, k=2), encoder=fake)
    assert hits[0].sample_id == "text/zebra" and {"vector", "bm25"} <= set(hits[0].parts)


def test_a_long_lived_searcher_sees_samples_added_after_it_started(small, fake) -> None:
    """A server keeps one Searcher: rows written later by another process must show up
    once the refresh interval has passed, with their kind and full row attached."""
    from plait.retrieval import Searcher

    s = Searcher(small, encoder=fake, refresh_s=0.0)
    assert s.search(Query(text="zebra stripes", k=1))[0].sample_id != "text/zebra"
    add_text_sample(small, fake, "text/zebra", "zebra stripes")
    hit = s.search(Query(text="zebra stripes", k=1))[0]
    assert hit.sample_id == "text/zebra" and hit.kind == "text"
    assert hit.sample is not None and hit.sample.texts == ["zebra stripes"]
    assert [h.sample_id for h in s.search(Query(text="zebra", where="kind = 'text'", k=1))] == [
        "text/zebra"
    ]


def test_errors_say_what_to_do(corpus, fake) -> None:
    build_corpus(corpus, fake)
    with pytest.raises(PlaitError, match="plait index"):
        search(corpus, Query(text="cat", fulltext=True))
    with pytest.raises(UnknownNameError, match="fake"):
        search(corpus, Query(text="cat", encoder="lit:nope"))
    with pytest.raises(ConfigError):
        search(corpus, Query())
    with pytest.raises(ConfigError, match="modality"):
        search(corpus, Query(text="cat", modality="smell"), encoder=fake)
    import shutil

    shutil.rmtree(corpus.path / "embeddings")
    index(corpus)
    with pytest.raises(PlaitError, match="plait embed"):
        search(corpus, Query(text="cat"))


def test_text_only_encoder_refuses_image_queries(small) -> None:
    class TextOnly(FakeEncoder):
        modalities = frozenset({"text"})

    with pytest.raises(ConfigError, match="does not embed images"):
        search(small, Query(image=png(COLOURS["red"])), encoder=TextOnly())


def test_hit_rows_from_memory_equal_rows_taken_from_lance(small, fake) -> None:
    """Small samples tables are held whole for fetching hits; large ones are read with
    ``take``. Both must attach the same rows."""
    from plait.retrieval import lookup

    ds = small.dataset("samples")
    held, taken = lookup._snapshot(ds), lookup._snapshot(ds, rows_budget=0)
    assert held.rows is not None and held.rows.num_rows == ds.count_rows()
    assert taken.rows is None
    every = list(held.pos)
    assert held.fetch(every) == taken.fetch(every)
    assert set(held.fetch(["pair/red-MIT", "no/such-id"])) == {"pair/red-MIT"}

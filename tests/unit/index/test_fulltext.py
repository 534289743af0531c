"""BM25 over samples.texts, including rows added after the build, and ``index``'s report."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from plait.errors import CorpusError, UnknownNameError
from plait.index import fulltext_search, has_fulltext_index, index
from plait.schema import Sample, Source, embeddings_schema, samples_table

pytest.importorskip("lance")


def page(i: int, text: str, licence: str = "MIT") -> Sample:
    return Sample(
        id=f"d/{i}",
        kind="pair",
        texts=[text, None],
        images=[None, "m" * 64],
        source=Source(uri=f"u{i}", dataset="d", licence=licence),
    )


TEXTS = [
    "The quick brown fox jumps over the lazy dog",
    "Gradient descent converges for convex functions",
    "A recipe for sourdough bread with a long fermentation",
    "Transformers use attention over token embeddings",
    "The dog sleeps in the sun on the porch",
]


def test_bm25_ranks_stems_filters_and_sees_new_rows(corpus) -> None:
    corpus.append(
        "samples",
        samples_table([page(i, t, "GPL-2" if i % 2 else "MIT") for i, t in enumerate(TEXTS)]),
    )
    report = index(corpus)
    assert report.fulltext["action"] == "built" and report.vectors == {}
    ds = corpus.dataset("samples")
    assert has_fulltext_index(ds)
    hits = fulltext_search(ds, "converging gradients", 3)
    assert hits[0][0] == "d/1"  # stemming: converging -> converg, gradients -> gradient
    dogs = [sid for sid, _ in fulltext_search(ds, "dog", 5)]
    assert set(dogs) == {"d/0", "d/4"}
    assert sorted(
        sid for sid, _ in fulltext_search(ds, "dog", 5, filter="source.licence = 'MIT'")
    ) == [
        "d/0",
        "d/4",
    ]
    assert fulltext_search(ds, "dog", 5, filter="source.licence = 'GPL-2'") == []

    corpus.append("samples", samples_table([page(9, "Zebras graze on the savanna")]))
    ds = corpus.dataset("samples")
    assert fulltext_search(ds, "zebra", 3)[0][0] == "d/9"  # before any re-index
    assert index(corpus).fulltext["action"] == "optimised"
    assert fulltext_search(corpus.dataset("samples"), "zebra", 3)[0][0] == "d/9"
    assert index(corpus).fulltext["action"] == "up-to-date"
    runs = corpus.read("runs").to_pylist()
    assert [r["command"] for r in runs] == ["index"] * 3


def test_build_reports_tables_and_names_missing_ones(corpus) -> None:
    with pytest.raises(CorpusError, match="plait ingest"):
        index(corpus)
    corpus.append("samples", samples_table([page(0, TEXTS[0])]))
    vec = np.ones((1, 4), np.float32) / 2
    tbl = pa.table(
        {
            "sample_id": ["d/0"],
            "slot": pa.array([0], pa.int32()),
            "modality": ["text"],
            "content": ["c"],
            "vector": pa.FixedSizeListArray.from_arrays(pa.array(vec.ravel()), 4),
        },
        schema=embeddings_schema(4),
    )
    import lance

    lance.write_dataset(tbl, str(corpus.embeddings_path("minilm")))
    report = index(corpus)
    v = report.vectors["minilm"]
    assert list(report.vectors) == ["minilm"]
    assert (v["action"], v["rows"], v["index"], v["unindexed_rows"]) == ("exact", 1, "exact", 1)
    with pytest.raises(UnknownNameError, match="minilm"):
        index(corpus, encoders=["lit:flickr"])

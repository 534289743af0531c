"""The server's sample pages read lineage from tables held per version: the same answer as
``why`` scanning the corpus, for kept, dropped, changed and restored samples, after writes."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "executors"))

import toy_corpus  # noqa: E402

from plait.curate import curate  # noqa: E402
from plait.errors import NotFoundError  # noqa: E402
from plait.lineage import restore  # noqa: E402
from plait.server.lineage import LineageTables, sample_detail  # noqa: E402


def _pages(corpus, tables, ids):
    return [(sample_detail(corpus, i), sample_detail(corpus, i, tables)) for i in ids]


def test_held_tables_give_the_scanned_answer_before_and_after_writes(tmp_path: Path) -> None:
    corpus = toy_corpus.text_corpus(tmp_path / "c", 120)
    tables = LineageTables(corpus, refresh_s=3600)  # only clear() makes it look again
    ids = sorted(corpus.ids())[:5]
    for scanned, held in _pages(corpus, tables, ids):
        assert held == scanned and held["lineage"][0]["command"] == "ingest"

    recipe = [{"op": "toy_ops:MinWords", "min_words": 3}, {"op": "toy_ops:Lower"}]
    run = curate(corpus, recipe, workers=0).run_id
    dropped = sorted(r["id"] for r in corpus.read("rejected", columns=["id"]).to_pylist())
    assert dropped
    stale = sample_detail(corpus, ids[0], tables)
    assert [e["command"] for e in stale["lineage"]] == ["ingest"]  # held: the old versions
    tables.clear()
    for scanned, held in _pages(corpus, tables, ids + dropped[:3]):
        assert held == scanned
    assert sample_detail(corpus, dropped[0], tables)["status"] == "rejected"

    restore(corpus, run)
    tables.clear()
    for scanned, held in _pages(corpus, tables, dropped[:3] + ids[:2]):
        assert held == scanned and held["status"] == "present"
    with pytest.raises(NotFoundError):
        sample_detail(corpus, "toy/nope", tables)

"""The ocr_text mapper on a real receipt photo: its text lands in a text slot, BM25 finds
the receipt by a word printed on it, and a rerun replaces the slot instead of adding one."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytestmark = pytest.mark.models


def test_receipt_text_becomes_searchable(shared_data: Path, tmp_path: Path):
    pytest.importorskip("rapidocr_onnxruntime")
    from plait import Corpus
    from plait.curate import curate
    from plait.index.build import index
    from plait.ingest import ingest
    from plait.retrieval import Query, search

    src = tmp_path / "img"
    src.mkdir()
    shutil.copy(shared_data / "sroie" / "img" / "005.jpg", src / "005.jpg")
    c = Corpus.init(tmp_path / "c")
    ingest(c, src)
    recipe = tmp_path / "ocr.yaml"
    recipe.write_text("- op: ocr_text\n")
    curate(c, recipe, workers=1)
    (s,) = c.samples()
    slot = s.stats["ocr_slot"]
    assert s.images[slot] is None and "31.00" in s.texts[slot] and s.stats["ocr_lines"] > 10
    index(c)
    hits = search(c, Query(text="plastic", fulltext=True))
    assert [h.sample_id for h in hits] == [s.id]
    curate(c, recipe, workers=1)
    (again,) = c.samples()
    assert len(again.texts) == len(s.texts)

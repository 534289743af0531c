"""Export, then ingest the export: the same samples come back, for every format plait
writes (WebDataset shards and the Parquet metadata beside them, Parquet, OBELICS JSONL):
pairs, multi-caption pairs with language tags, documents, PDF pages with their parent,
text-only samples, with their ids, slots, tags, licence, meta and curate stats."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from plait import Corpus
from plait.curate import curate
from plait.export import export
from plait.ingest import ingest

from ..builders import image_bytes


def _sources(tmp: Path, shared: Path) -> dict[str, tuple[Path, dict]]:
    # pairs with five captions each (Flickr-style rows of one image)
    photos = tmp / "photos"
    photos.mkdir()
    rows = ["image\tcaption"]
    for i in range(3):
        (photos / f"{i}.jpg").write_bytes(image_bytes((80 * i, 40, 200), size=48))
        rows += [f"{i}.jpg\tphoto {i} seen the way number {k} describes it" for k in range(5)]
    (tmp / "pairs.tsv").write_text("\n".join(rows) + "\n")
    # stamps: PNG and SVG with multilingual sidecars (every slot tagged), one caption-less
    stamps = tmp / "stamps"
    stamps.mkdir()
    (stamps / "apple.png").write_bytes(image_bytes("red", fmt="PNG"))
    (stamps / "apple.txt").write_text(
        "A red apple.\nde.utf8=Ein roter Apfel.\nfr.utf8=Une pomme.\n"
    )
    svg = '<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><rect width="8" height="8"/></svg>'
    (stamps / "box.svg").write_text(svg)
    (stamps / "box.txt").write_text("A black box.\nes.utf8=Una caja negra.\n")
    (stamps / "plain.png").write_bytes(image_bytes("green", fmt="PNG"))
    # interleaved documents, one with an image repeated and one text-only
    docs = tmp / "docs"
    docs.mkdir()
    (docs / "a.png").write_bytes(image_bytes("blue", fmt="PNG"))
    (docs / "b.jpg").write_bytes(image_bytes("yellow"))
    lines = [
        {
            "id": "d1",
            "texts": ["Intro.", None, "Middle.", None],
            "images": [None, "a.png", None, "b.jpg"],
            "url": "https://example.org/d1",
            "licence": "CC-BY-4.0",
        },
        {
            "id": "d2",
            "texts": [None, "Same picture again.", None],
            "images": ["a.png", None, "a.png"],
        },
        {"id": "d3", "texts": ["Only words here, no pictures at all."], "images": [None]},
    ]
    (docs / "docs.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    pdf = tmp / "pdf"
    pdf.mkdir()
    shutil.copy(shared / "pdfs" / "issue-140-example.pdf", pdf / "p.pdf")
    return {
        "flickr": (tmp / "pairs.tsv", {"licence": "research-only", "image_root": photos}),
        "stamps": (stamps, {"licence": "GPL-2.0"}),
        "web": (docs / "docs.jsonl", {"licence": "ODC-BY-1.0"}),
        "pdf": (pdf, {"licence": "MIT", "max_side": 200}),
    }


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Corpus:
    pytest.importorskip("pypdfium2")
    tmp = tmp_path_factory.mktemp("rt")
    corpus = Corpus.init(tmp / "corpus")
    for name, (src, opts) in _sources(tmp, shared_data).items():
        ingest(corpus, src, dataset=name, **opts)
    recipe = [
        {"op": "clean_captions"},
        {"op": "word_count", "min_words": 2, "mode": "annotate"},
        {"op": "dedup_media", "mode": "annotate"},
    ]
    curate(corpus, recipe, workers=0)
    kinds = {s.kind for s in corpus.samples()}
    assert kinds >= {"pair", "document", "page", "image"}
    return corpus


def _state(corpus: Corpus) -> dict[str, dict]:
    out = {}
    for s in corpus.samples():
        row = s.to_row()
        row.pop("run_id")
        out[s.id] = row
    return out


def _check(original: Corpus, back: Corpus) -> None:
    want, got = _state(original), _state(back)
    assert sorted(got) == sorted(want)
    for sid, row in want.items():
        assert got[sid] == row, sid
    assert back.ids("media") == original.ids("media")
    assert back.count("quarantine") == 0


@pytest.mark.parametrize("fmt", ["webdataset", "parquet", "jsonl"])
def test_export_then_ingest_gives_back_the_same_samples(
    corpus: Corpus, tmp_path: Path, fmt: str
) -> None:
    rep = export(corpus, tmp_path / "out", fmt, shard_size=4)
    assert rep.shards > 1 and not rep.skipped
    back = Corpus.init(tmp_path / "back")
    report = ingest(back, tmp_path / "out", dataset="export")
    assert report.added == corpus.count("samples") and not report.quarantined
    _check(corpus, back)
    again = ingest(back, tmp_path / "out", dataset="export")
    assert (again.added, again.skipped) == (0, corpus.count("samples"))


def test_the_parquet_beside_each_shard_ingests_its_shard(corpus: Corpus, tmp_path: Path) -> None:
    rep = export(corpus, tmp_path / "out", "webdataset", shard_size=4)
    back = Corpus.init(tmp_path / "back")
    for i in range(rep.shards):
        ingest(back, tmp_path / "out" / f"{i:05d}.parquet")
    _check(corpus, back)


def test_a_shard_subset_keeps_what_it_has(corpus: Corpus, tmp_path: Path) -> None:
    """Documents whose groups span the shard read are whole; nothing is invented."""
    export(corpus, tmp_path / "out", "webdataset", shard_size=4)
    back = Corpus.init(tmp_path / "back")
    ingest(back, tmp_path / "out" / "00000.tar")
    want = _state(corpus)
    for sid, row in _state(back).items():
        assert row == want[sid]

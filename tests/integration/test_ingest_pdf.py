"""The real PDFs of ../shared/data/pdfs into a corpus: documents, pages, page media, quarantine."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from plait import Corpus
from plait.ingest import ingest

pytest.importorskip("pypdfium2")


@pytest.mark.slow
def test_every_real_pdf_becomes_a_document_with_its_pages(shared_data: Path, corpus: Corpus):
    pdfs = shared_data / "pdfs"
    report = ingest(corpus, pdfs, licence="MIT")

    files = sorted(p.name for p in pdfs.glob("*.pdf"))
    assert len(files) == 52
    # empty.pdf (zero bytes) and password-example.pdf cannot be read; the rest can
    assert dict(report.quarantined) == {"empty_file": 1, "encrypted_pdf": 1}
    rows = {r["location"]: r["reason"] for r in corpus.read("quarantine").to_pylist()}
    assert rows == {
        str(pdfs / "empty.pdf"): "empty_file",
        str(pdfs / "password-example.pdf"): "encrypted_pdf",
    }
    assert report.by_kind["document"] == 50
    assert report.by_kind["page"] == 243

    docs = {s.id: s for s in corpus.samples(where="kind = 'document'")}
    pages = corpus.samples(where="kind = 'page'")
    assert sum(d.meta["page_count"] for d in docs.values()) == len(pages) == 243
    assert all(p.parent in docs for p in pages)  # every page points at its document
    chelsea = docs["pdfs/chelsea_pdta.pdf"]
    assert chelsea.meta["page_count"] == 65 and chelsea.source.licence == "MIT"
    assert chelsea.texts == [
        "Plan stratégique du sentier récréatif régional de Prescott et Russell"
    ]

    p3 = corpus.sample("pdfs/chelsea_pdta.pdf#p3")
    assert p3.parent == "pdfs/chelsea_pdta.pdf" and p3.position == 2
    rendered = corpus.media_info(p3.images[0])
    assert rendered["mime"] == "image/jpeg" and max(rendered["width"], rendered["height"]) == 1280
    assert p3.texts[1] and p3.source.uri.endswith("chelsea_pdta.pdf#p3")
    # embedded raster images are media of their own, each stored once
    embedded = [m for p in pages for m in p.images[1:] if m]
    assert embedded and corpus.count("media") >= len(set(embedded)) + 1


def test_reingesting_pdfs_adds_nothing(shared_data: Path, corpus: Corpus, tmp_path: Path):
    folder = tmp_path / "few"
    folder.mkdir()
    for name in ("image_structure.pdf", "issue-33-lorem-ipsum.pdf", "password-example.pdf"):
        shutil.copy(shared_data / "pdfs" / name, folder / name)

    first = ingest(corpus, folder, licence="MIT", max_side=256)
    assert (first.by_kind["document"], first.by_kind["page"]) == (2, 3)
    assert dict(first.quarantined) == {"encrypted_pdf": 1}
    n_media = corpus.count("media")
    again = ingest(corpus, folder, licence="MIT", max_side=256)
    assert (again.added, again.skipped, again.media_added) == (0, 5, 0)
    assert corpus.count("media") == n_media and corpus.count("quarantine") == 1

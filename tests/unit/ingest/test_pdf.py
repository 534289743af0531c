"""PDFs through pypdfium2: documents, pages, rendered images, embedded images, bad files."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from PIL import Image

from plait.ingest.base import Failure, ImageInput, RawSample
from plait.ingest.pdf import PdfReader, clean_text
from plait.io.media import probe

pytest.importorskip("pypdfium2")


def _split(items) -> tuple[list[RawSample], list[Failure]]:
    items = list(items)
    return [i for i in items if isinstance(i, RawSample)], [
        i for i in items if isinstance(i, Failure)
    ]


@pytest.fixture()
def pdfs(shared_data: Path) -> Path:
    return shared_data / "pdfs"


def test_one_document_and_one_page_sample_per_page(pdfs: Path):
    samples, failures = _split(PdfReader(pdfs / "issue-33-lorem-ipsum.pdf", max_side=400))
    assert failures == []
    doc, *pages = samples
    assert doc.kind == "document" and doc.key == "issue-33-lorem-ipsum.pdf"
    assert doc.meta["page_count"] == 2 == len(pages)
    assert doc.source.dataset == "pdfs" and doc.source.uri == str(pdfs / "issue-33-lorem-ipsum.pdf")
    assert [p.key for p in pages] == ["issue-33-lorem-ipsum.pdf#p1", "issue-33-lorem-ipsum.pdf#p2"]
    assert [p.position for p in pages] == [0, 1]
    assert all(p.kind == "page" and p.parent_key == doc.key for p in pages)

    rendered, text = pages[0].slots[:2]
    assert isinstance(rendered, ImageInput) and rendered.location.endswith("#p1")
    info = probe(rendered.data)
    assert info.mime == "image/jpeg" and max(info.width, info.height) == 400
    assert text.startswith("Tempora co Neque labo") and "\r" not in text


def test_embedded_raster_images_become_extra_image_slots(pdfs: Path):
    samples, failures = _split(PdfReader(pdfs / "image_structure.pdf", max_side=300))
    assert failures == []
    doc, page = samples
    assert doc.slots == ["Here is an image with some attributes:"]  # no Title: first line
    assert doc.meta["title_from"] == "first_line"
    rendered, text, embedded = page.slots
    assert text == "Here is an image with some attributes:"
    assert embedded.location.endswith("image_structure.pdf#p1/img1")
    assert (probe(embedded.data).width, probe(embedded.data).height) == (341, 192)
    assert page.meta["embedded_images"] == 1


def test_metadata_title_and_page_geometry_go_into_meta(pdfs: Path):
    samples, _ = _split(
        PdfReader(pdfs / "nics-background-checks-2015-11-rotated.pdf", max_side=256)
    )
    doc, page = samples
    assert doc.meta["pdf_version"] and doc.meta["bytes"] > 0
    assert page.meta["rotation"] in (90, 270)
    img = Image.open(io.BytesIO(page.slots[0].data))
    # the page is displayed rotated: portrait, like the viewer shows it
    assert img.height == 256 and img.width < img.height


def test_encrypted_empty_and_malformed_files_are_failures(pdfs: Path, tmp_path: Path):
    folder = tmp_path / "bad"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(pdfs / "password-example.pdf", folder / "password-example.pdf")
    shutil.copy(pdfs / "empty.pdf", folder / "empty.pdf")
    (folder / "sub" / "garbage.pdf").write_bytes(b"%PDF-1.7\n" + b"\x00\x13 not a pdf body " * 50)
    (folder / "sub" / "ok.pdf").write_bytes((pdfs / "hello_structure.pdf").read_bytes())
    (folder / "notes.txt").write_text("not a pdf, not read")

    samples, failures = _split(PdfReader(folder, max_side=200))
    assert {(Path(f.location).name, f.reason) for f in failures} == {
        ("password-example.pdf", "encrypted_pdf"),
        ("empty.pdf", "empty_file"),
        ("garbage.pdf", "malformed_pdf"),
    }
    assert [s.key for s in samples if s.kind == "document"] == ["sub/ok.pdf"]
    assert [s.key for s in samples if s.kind == "page"] == ["sub/ok.pdf#p1", "sub/ok.pdf#p2"]


def test_a_password_opens_an_encrypted_pdf(pdfs: Path):
    samples, failures = _split(
        PdfReader(pdfs / "password-example.pdf", password="test", max_side=200)
    )
    assert failures == [] and samples[0].meta["page_count"] == 4 == len(samples) - 1
    assert "Backup4all" in samples[1].slots[1]


def test_pdfium_repairs_the_pdfplumber_malformed_sample(pdfs: Path):
    # pdfminer chokes on it; PDFium rebuilds it, so its one page is kept
    samples, failures = _split(PdfReader(pdfs / "malformed-from-issue-932.pdf", max_side=200))
    assert failures == [] and [s.kind for s in samples] == ["document", "page"]
    assert samples[1].slots[1] == "2021 3 31"


def test_a_truncated_pdf_is_read_as_far_as_pdfium_can_or_quarantined(pdfs: Path, tmp_path: Path):
    raw = (pdfs / "issue-67-example.pdf").read_bytes()
    (tmp_path / "cut.pdf").write_bytes(raw[: len(raw) // 3])
    samples, failures = _split(PdfReader(tmp_path / "cut.pdf", max_side=200))
    assert samples or failures  # never raises
    assert all(f.reason in ("malformed_pdf", "render_failed") for f in failures)


def test_estimate_counts_documents_and_pages(pdfs: Path, tmp_path: Path):
    shutil.copy(pdfs / "issue-33-lorem-ipsum.pdf", tmp_path / "a.pdf")
    shutil.copy(pdfs / "image_structure.pdf", tmp_path / "b.pdf")
    assert PdfReader(tmp_path).estimate() == 2 + 3


def test_clean_text_normalises_pdfium_line_ends_and_soft_hyphens():
    assert clean_text("multi\ufffethreaded\r\nline two  \r\n\r\n") == "multi-threaded\nline two"

"""The ocr_text mapper: printed text lands in a text slot, BM25 finds the image by a word
printed on it, a rerun replaces the slot instead of adding one, and the change is a
mapper change like any other: ``plait why`` shows it and ``plait restore`` undoes it.

The default test reads a small rendered image (three printed lines: a second or two of
OCR); the full receipt photo is the heavy version."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytestmark = pytest.mark.models

LINES = ("KEDAI RUNCIT MAJU", "PLASTIC BAG 0.20", "TOTAL 31.00")


def printed(path: Path) -> Path:
    """A white card with :data:`LINES` printed on it (words spaced wide, as receipt
    printers do: tight spaces read as one word), 420 x 170 px."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=26)
    im = Image.new("RGB", (420, 170), "white")
    draw = ImageDraw.Draw(im)
    for i, line in enumerate(LINES):
        x = 14.0
        for word in line.split():
            draw.text((x, 14 + i * 50), word, fill="black", font=font)
            x += draw.textlength(word, font=font) + 22
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path, quality=95)
    return path


def ocr_corpus(image: Path, root: Path):
    pytest.importorskip("rapidocr_onnxruntime")
    from plait import Corpus
    from plait.curate import curate
    from plait.ingest import ingest

    c = Corpus.init(root / "c")
    ingest(c, image.parent)
    recipe = root / "ocr.yaml"
    recipe.write_text("- op: ocr_text\n")
    return c, recipe, curate(c, recipe, workers=0)


def test_printed_text_becomes_searchable_and_the_change_is_explained_and_undone(tmp_path):
    from typer.testing import CliRunner

    from plait.cli import app
    from plait.curate import curate
    from plait.index.build import index
    from plait.lineage import restore, why
    from plait.retrieval import Query, search

    c, recipe, rep = ocr_corpus(printed(tmp_path / "img" / "card.jpg"), tmp_path)
    (s,) = c.samples()
    slot = s.stats["ocr_slot"]
    assert s.images[slot] is None and s.stats["ocr_lines"] == len(LINES)
    assert "31.00" in s.texts[slot] and "PLASTIC" in s.texts[slot].upper()
    index(c)
    assert [h.sample_id for h in search(c, Query(text="plastic", fulltext=True))] == [s.id]

    # the mapper's change is in the sample's lineage, with the version it replaced
    lin = why(c, s.id)
    assert lin.events[-1].run_id == rep.run_id
    assert lin.events[-1].what.startswith("changed by ocr_text"), lin.events[-1].what
    (before,) = lin.versions
    assert before["op"] == "ocr_text" and len(before["texts"]) == len(s.texts) - 1
    out = CliRunner().invoke(app, ["why", str(c.path), s.id])
    assert out.exit_code == 0 and "changed by ocr_text" in out.output, out.output
    assert "before" in out.output and "(ocr_text)" in out.output

    # a rerun replaces the slot it wrote (same text: no new version); restoring the run
    # that added the slot takes it away again
    again = curate(c, recipe, workers=0)
    assert c.sample(s.id).texts == s.texts and again.replaced == 0
    restore(c, rep.run_id)
    back = c.sample(s.id)
    assert len(back.texts) == len(s.texts) - 1 and "ocr_slot" not in back.stats
    assert "put back the version" in why(c, s.id).events[-1].what


@pytest.mark.heavy  # a full receipt photo: ~40 lines of OCR, tens of seconds on a busy core
def test_a_real_receipt_photo_is_found_by_a_word_printed_on_it(shared_data: Path, tmp_path):
    from plait.index.build import index
    from plait.retrieval import Query, search

    src = tmp_path / "img" / "005.jpg"
    src.parent.mkdir()
    shutil.copy(shared_data / "sroie" / "img" / "005.jpg", src)
    c, _, _ = ocr_corpus(src, tmp_path)
    (s,) = c.samples()
    assert "31.00" in s.texts[s.stats["ocr_slot"]] and s.stats["ocr_lines"] > 10
    index(c)
    assert [h.sample_id for h in search(c, Query(text="plastic", fulltext=True))] == [s.id]

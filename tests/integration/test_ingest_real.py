"""Ingest of the real data in ../shared/data: counts a user would check."""

from __future__ import annotations

import csv
from pathlib import Path

from plait import Corpus
from plait.ingest import ingest


def test_flickr_tsv_becomes_one_pair_per_image_with_five_captions(
    shared_data: Path, corpus: Corpus
):
    tsv = shared_data / "flickr8k" / "test.tsv"
    with open(tsv, newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    report = ingest(corpus, tsv, dataset="flickr8k-test", licence="research-only")
    images = {r["image"] for r in rows}
    assert report.added == len(images) == 1000
    assert corpus.count("media") == 1000
    sample = corpus.sample(f"flickr8k-test/{rows[0]['image']}")
    want = [r["caption"] for r in rows if r["image"] == rows[0]["image"]]
    assert sample.kind == "pair" and sample.texts[1:] == want and len(want) == 5
    assert sample.images[0] is not None and sample.source.licence == "research-only"
    assert corpus.media_info(sample.images[0])["mime"] == "image/jpeg"

    again = ingest(corpus, tsv, dataset="flickr8k-test", licence="research-only")
    assert (again.added, again.skipped, again.media_added) == (0, 1000, 0)
    assert corpus.count("samples") == 1000


def test_tuxpaint_multilingual_sidecars(shared_data: Path, corpus: Corpus):
    root = shared_data / "tuxpaint" / "stamps"
    images = [p for p in root.rglob("*") if p.suffix.lower() in (".png", ".svg")]
    report = ingest(corpus, root, licence="GPL-2.0")
    assert report.added == len(images) and not report.quarantined
    frog = corpus.sample("stamps/animals/amphibians/frog-1.png")
    langs = dict(zip(frog.langs[1:], frog.texts[1:]))
    assert langs["en"] == "A frog." and langs["fr"] == "Une grenouille." and len(langs) > 50
    with_sidecar = [p for p in images if p.with_suffix(".txt").exists()]
    assert corpus.count("samples", where="kind = 'pair'") == len(with_sidecar)
    assert corpus.count("samples", where="kind = 'image'") == len(images) - len(with_sidecar)
    svg = corpus.sample("stamps/animals/insects/bee.svg")
    assert corpus.media_info(svg.images[0])["mime"] == "image/svg+xml"


def test_docbank_and_sroie_page_images(shared_data: Path, corpus: Corpus):
    r1 = ingest(corpus, shared_data / "docbank", licence="Apache-2.0")
    r2 = ingest(corpus, shared_data / "sroie" / "img", dataset="sroie", licence="research-only")
    assert r1.added == len(list((shared_data / "docbank").glob("*_ori.jpg")))
    assert r2.added == len(list((shared_data / "sroie" / "img").glob("*.jpg")))
    info = corpus.info()
    assert info.samples_by_dataset == {"docbank": r1.added, "sroie": r2.added} or set(
        info.samples_by_dataset
    ) == {"docbank", "sroie"}

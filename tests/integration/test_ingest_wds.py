"""WebDataset shards (img2dataset layout, Flickr8k photos) and hostile shards into a real corpus."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

from plait import Corpus
from plait.ingest import ingest

from ..builders import bomb_png, flickr_pairs, image_bytes, tar_add, write_img2dataset_shards


def test_img2dataset_shards_ingest_once_per_key(shared_data: Path, corpus: Corpus, tmp_path: Path):
    pairs = flickr_pairs(shared_data, 30)
    write_img2dataset_shards(tmp_path / "laion", pairs, per_shard=12)
    pattern = str(tmp_path / "laion" / "{00000..00002}.tar")

    report = ingest(corpus, pattern, licence="research-only")
    assert (report.added, report.by_kind["pair"], dict(report.quarantined)) == (30, 30, {})
    assert corpus.count("media") == 30
    sample = corpus.sample("laion/00001/000010003")
    img, cap = pairs[15]
    assert sample.kind == "pair" and sample.texts == [None, cap]
    assert corpus.media_bytes(sample.images[0]) == img.read_bytes()
    assert sample.source.url == f"https://example.org/flickr/{img.name}"
    assert sample.source.uri == f"{tmp_path / 'laion' / '00001.tar'}#000010003"
    assert sample.meta["status"] == "success"

    again = ingest(corpus, pattern, licence="research-only")
    assert (again.added, again.skipped, again.media_added) == (0, 30, 0)


def test_hostile_shards_quarantine_each_bad_input_and_keep_the_rest(corpus: Corpus, tmp_path: Path):
    shards = tmp_path / "hostile"
    shards.mkdir()
    with tarfile.open(shards / "00000.tar", "w") as tar:
        tar_add(tar, "ok.jpg", image_bytes("blue", 48))
        tar_add(tar, "ok.txt", b"a blue square")
        tar_add(tar, "dup.jpg", image_bytes("blue", 48))  # same bytes as ok.jpg: stored once
        tar_add(tar, "corrupt.jpg", image_bytes("red", 48)[:120])
        tar_add(tar, "corrupt.txt", b"a truncated red square")
        tar_add(tar, "bomb.png", bomb_png())
        tar_add(tar, "../../escape.jpg", image_bytes("green", 48))
        tar_add(tar, "latin.jpg", image_bytes("green", 48))
        tar_add(tar, "latin.txt", "caf\xe9".encode("latin-1"))
        tar_add(tar, "words.txt", b"only text")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for i in range(3):
            tar_add(tar, f"k{i}.jpg", image_bytes(["white", "black", "gray"][i], 48) + bytes(2000))
    raw = buf.getvalue()
    (shards / "00001.tar").write_bytes(raw[: raw.index(b"k2.jpg") + 600])

    report = ingest(corpus, str(shards / "*.tar"), dataset="hostile")
    assert sorted(corpus.ids()) == [
        "hostile/00000/dup",
        "hostile/00000/latin",  # its Latin-1 caption decoded, the encoding in its meta
        "hostile/00000/ok",
        "hostile/00000/words",
        "hostile/00001/k0",
        "hostile/00001/k1",
    ]
    assert corpus.sample("hostile/00000/words").kind == "text"
    assert corpus.sample("hostile/00000/latin").texts[1] == "caf\xe9"
    assert corpus.sample("hostile/00000/latin").meta["caption_encoding"] == "cp1252"
    assert corpus.count("media") == 4  # blue once, green, white, black
    where = {
        r["location"].split("#", 1)[1]: r["reason"] for r in corpus.read("quarantine").to_pylist()
    }
    assert where["corrupt.jpg"] in ("truncated_image", "corrupt_image")
    assert where == {
        "corrupt.jpg": where["corrupt.jpg"],
        "bomb.png": "decompression_bomb",
        "../../escape.jpg": "path_traversal",
        "k2.jpg": "truncated_archive",
    }
    assert sum(report.quarantined.values()) == 4

    again = ingest(corpus, str(shards / "*.tar"), dataset="hostile")
    assert again.added == 0 and corpus.count("quarantine") == 4

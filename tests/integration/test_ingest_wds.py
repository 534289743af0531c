"""WebDataset shards (img2dataset layout, Flickr8k photos) and hostile shards into a real corpus."""

from __future__ import annotations

import csv
import io
import json
import struct
import tarfile
import zlib
from pathlib import Path

from PIL import Image

from plait import Corpus
from plait.ingest import ingest


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def _flickr(shared_data: Path, n: int) -> list[tuple[Path, str]]:
    root = shared_data / "flickr8k"
    pairs: dict[str, str] = {}
    with open(root / "test.tsv", encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            pairs.setdefault(row["image"], row["caption"])
            if len(pairs) == n:
                break
    return [(root / "images" / k, v) for k, v in pairs.items()]


def _img2dataset(out: Path, pairs: list[tuple[Path, str]], per_shard: int) -> None:
    out.mkdir(parents=True)
    for sid, start in enumerate(range(0, len(pairs), per_shard)):
        chunk = pairs[start : start + per_shard]
        with tarfile.open(out / f"{sid:05d}.tar", "w") as tar:
            for i, (img, cap) in enumerate(chunk):
                key = f"{sid:05d}{i:04d}"
                meta = {
                    "url": f"https://example.org/{img.name}",
                    "caption": cap,
                    "key": key,
                    "status": "success",
                    "error_message": None,
                    "width": 224,
                    "height": 224,
                }
                _add(tar, f"{key}.jpg", img.read_bytes())
                _add(tar, f"{key}.txt", cap.encode())
                _add(tar, f"{key}.json", json.dumps(meta).encode())
        (out / f"{sid:05d}_stats.json").write_text(json.dumps({"successes": len(chunk)}))


def _bomb_png() -> bytes:
    """A 200-byte PNG that declares 60000 x 60000 pixels."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    ihdr = struct.pack(">IIBBBBB", 60000, 60000, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def _jpeg(color: str) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (48, 48), color).save(buf, "JPEG")
    return buf.getvalue()


def test_img2dataset_shards_ingest_once_per_key(shared_data: Path, corpus: Corpus, tmp_path: Path):
    pairs = _flickr(shared_data, 30)
    _img2dataset(tmp_path / "laion", pairs, per_shard=12)
    pattern = str(tmp_path / "laion" / "{00000..00002}.tar")

    report = ingest(corpus, pattern, licence="research-only")
    assert (report.added, report.by_kind["pair"], dict(report.quarantined)) == (30, 30, {})
    assert corpus.count("media") == 30
    sample = corpus.sample("laion/00001/000010003")
    img, cap = pairs[15]
    assert sample.kind == "pair" and sample.texts == [None, cap]
    assert corpus.media_bytes(sample.images[0]) == img.read_bytes()
    assert sample.source.url == f"https://example.org/{img.name}"
    assert sample.source.uri == f"{tmp_path / 'laion' / '00001.tar'}#000010003"
    assert sample.meta["status"] == "success"

    again = ingest(corpus, pattern, licence="research-only")
    assert (again.added, again.skipped, again.media_added) == (0, 30, 0)


def test_hostile_shards_quarantine_each_bad_input_and_keep_the_rest(corpus: Corpus, tmp_path: Path):
    shards = tmp_path / "hostile"
    shards.mkdir()
    with tarfile.open(shards / "00000.tar", "w") as tar:
        _add(tar, "ok.jpg", _jpeg("blue"))
        _add(tar, "ok.txt", b"a blue square")
        _add(tar, "dup.jpg", _jpeg("blue"))  # same bytes as ok.jpg: stored once
        _add(tar, "corrupt.jpg", _jpeg("red")[:120])
        _add(tar, "corrupt.txt", b"a truncated red square")
        _add(tar, "bomb.png", _bomb_png())
        _add(tar, "../../escape.jpg", _jpeg("green"))
        _add(tar, "latin.jpg", _jpeg("green"))
        _add(tar, "latin.txt", "caf\xe9".encode("latin-1"))
        _add(tar, "words.txt", b"only text")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for i in range(3):
            _add(tar, f"k{i}.jpg", _jpeg(["white", "black", "gray"][i]) + bytes(2000))
    raw = buf.getvalue()
    (shards / "00001.tar").write_bytes(raw[: raw.index(b"k2.jpg") + 600])

    report = ingest(corpus, str(shards / "*.tar"), dataset="hostile")
    assert sorted(corpus.ids()) == [
        "hostile/00000/dup",
        "hostile/00000/ok",
        "hostile/00000/words",
        "hostile/00001/k0",
        "hostile/00001/k1",
    ]
    assert corpus.sample("hostile/00000/words").kind == "text"
    assert corpus.count("media") == 3  # blue once, white, black
    where = {
        r["location"].split("#", 1)[1]: r["reason"] for r in corpus.read("quarantine").to_pylist()
    }
    assert where["corrupt.jpg"] in ("truncated_image", "corrupt_image")
    assert where == {
        "corrupt.jpg": where["corrupt.jpg"],
        "bomb.png": "decompression_bomb",
        "../../escape.jpg": "path_traversal",
        "latin.txt": "bad_encoding",
        "k2.jpg": "truncated_archive",
    }
    assert sum(report.quarantined.values()) == 5

    again = ingest(corpus, str(shards / "*.tar"), dataset="hostile")
    assert again.added == 0 and corpus.count("quarantine") == 5

"""A reader split into parts yields exactly what the whole reader yields (Ray ingest's premise)."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

from plait.ingest.base import Failure, ImageInput, RawSample
from plait.ingest.distributed import ChainReader, split
from plait.ingest.folder import FolderReader
from plait.ingest.webdataset import WebDatasetReader

from ...builders import image_bytes, tar_add


def _items(reader) -> list[tuple]:
    out = []
    for it in reader:
        if isinstance(it, Failure):
            out.append(("failure", it.location, it.reason))
            continue
        assert isinstance(it, RawSample)
        slots = [s.path or len(s.data or b"") if isinstance(s, ImageInput) else s for s in it.slots]
        out.append((it.key, it.kind, it.source.dataset, tuple(map(str, slots)), str(it.meta)))
    return out


def test_folder_parts_cover_the_folder_once(tmp_path: Path) -> None:
    root = tmp_path / "photos"
    for sub in ("a", "b/c"):
        (root / sub).mkdir(parents=True)
    colours = ["red", "green", "blue", "white", "black"]
    for i in range(23):
        folder = root / ("a" if i % 3 == 0 else "b/c" if i % 3 == 1 else "")
        (folder / f"img{i:02d}.png").write_bytes(image_bytes(colours[i % 5], 16))
        if i % 2 == 0:
            (folder / f"img{i:02d}.txt").write_text(f"caption {i}")
        if i % 4 == 0:
            (folder / f"img{i:02d}.json").write_text(json.dumps({"n": i}))
    (root / "a" / "bad.png.txt").write_text("a sidecar of nothing")
    whole = FolderReader(root, dataset="photos")
    parts = whole.parts(size=5)
    assert [len(list(p)) for p in parts] == [5, 5, 5, 5, 3]
    assert [it for p in parts for it in _items(p)] == _items(whole)
    assert {p.dataset for p in parts} == {"photos"}


def test_webdataset_parts_are_its_shards(tmp_path: Path) -> None:
    for s in range(3):
        with tarfile.open(tmp_path / f"{s:05d}.tar", "w") as tar:
            for i in range(4):
                tar_add(tar, f"k{i}.png", image_bytes("red", 16))
                tar_add(tar, f"k{i}.txt", f"shard {s} key {i}".encode())
    (tmp_path / "00003.tar").write_bytes(b"not a tar at all")
    whole = WebDatasetReader(str(tmp_path / "*.tar"))
    parts = split(whole)
    assert len(parts) == 4
    assert [it for p in parts for it in _items(p)] == _items(whole)
    chain = ChainReader([WebDatasetReader(str(tmp_path / f"{s:05d}.tar")) for s in range(4)])
    assert _items(chain) == _items(whole) == [it for p in split(chain) for it in _items(p)]

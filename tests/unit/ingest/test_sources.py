from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from plait.cli.ingest_cmd import parse_options
from plait.errors import ConfigError, UnknownNameError
from plait.ingest.sources import detect_format, open_source


def test_detect_format_by_shape(tmp_path: Path):
    assert detect_format("shards/{00000..00009}.tar") == "webdataset"
    assert detect_format("shards/{a,b}.tar") == "webdataset"
    assert detect_format("shards/*.tar") == "webdataset"
    (tmp_path / "t.tsv").write_text("image\tcaption\n")
    assert detect_format(str(tmp_path / "t.tsv")) == "table"
    (tmp_path / "d.jsonl").write_text('{"texts": ["a", null], "images": [null, "x.jpg"]}\n')
    assert detect_format(str(tmp_path / "d.jsonl")) == "documents"
    (tmp_path / "c.jsonl").write_text('{"url": "http://x/y.jpg", "caption": "c"}\n')
    assert detect_format(str(tmp_path / "c.jsonl")) == "table"
    folder = tmp_path / "imgs"
    folder.mkdir()
    Image.new("RGB", (2, 2)).save(folder / "a.png")
    assert detect_format(str(folder)) == "folder"
    (folder / "b.pdf").write_bytes(b"%PDF-1.4")
    with pytest.raises(ConfigError, match="both images and PDFs"):
        detect_format(str(folder))
    with pytest.raises(ConfigError, match="does not exist"):
        detect_format(str(tmp_path / "nope"))


def test_unknown_format_suggests_a_name(tmp_path: Path):
    with pytest.raises(UnknownNameError, match="Did you mean 'folder'"):
        open_source(str(tmp_path), fmt="fodler")


def test_parse_options():
    assert parse_options(["password=s3", "max-side=1600", "ratio=0.5", "extract_images=false"]) == {
        "password": "s3",
        "max_side": 1600,
        "ratio": 0.5,
        "extract_images": False,
    }
    with pytest.raises(ConfigError):
        parse_options(["novalue"])

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from plait.errors import ConfigError
from plait.ingest.base import Failure, ImageInput, RawSample
from plait.ingest.table import TableReader


def test_adjacent_rows_of_one_image_become_one_pair(tmp_path: Path):
    t = tmp_path / "caps.tsv"
    t.write_text(
        "image\tcaption_index\tcaption\na.jpg\t0\tfirst\na.jpg\t1\tsecond\nb.jpg\t0\tthird\n"
    )
    items = list(TableReader(t, dataset="x"))
    assert [i.key for i in items] == ["a.jpg", "b.jpg"]
    assert items[0].slots[1:] == ["first", "second"] and items[0].kind == "pair"
    assert isinstance(items[0].slots[0], ImageInput)
    assert items[0].source.uri.endswith("caps.tsv:2")


def test_non_adjacent_repeat_gets_its_own_key(tmp_path: Path):
    t = tmp_path / "caps.csv"
    t.write_text("image,caption\na.jpg,one\nb.jpg,two\na.jpg,three\n")
    assert [i.key for i in TableReader(t)] == ["a.jpg", "b.jpg", "a.jpg#2"]


def test_url_column_and_licence_column(tmp_path: Path):
    t = tmp_path / "crawl.jsonl"
    rows = [
        {"url": "http://127.0.0.1:9/x.jpg", "caption": "hi", "license": "CC-BY-4.0", "width": 10}
    ]
    t.write_text("\n".join(json.dumps(r) for r in rows) + "\n{bad json\n")
    items = list(TableReader(t))
    (ok,) = [i for i in items if isinstance(i, RawSample)]
    (bad,) = [i for i in items if isinstance(i, Failure)]
    assert isinstance(ok, RawSample) and ok.slots[0].url == "http://127.0.0.1:9/x.jpg"
    assert ok.source.licence == "CC-BY-4.0" and ok.source.url == rows[0]["url"]
    assert ok.meta == {"license": "CC-BY-4.0", "width": 10}
    assert (
        isinstance(bad, Failure) and bad.reason == "malformed_row" and bad.location.endswith(":2")
    )


def test_parquet_streams_rows(tmp_path: Path):
    t = tmp_path / "p.parquet"
    pq.write_table(pa.table({"image": ["a.png", "b.png"], "text": ["x", "y"]}), t)
    items = list(TableReader(t))
    assert [i.slots[1] for i in items] == ["x", "y"]
    assert TableReader(t).estimate() == 2


def test_bad_rows_fail_alone(tmp_path: Path):
    t = tmp_path / "c.tsv"
    t.write_bytes(
        b"image\tcaption\na.jpg\tfine\nb.jpg\tcaf\xe9\nc.jpg\ttoo\tmany\n../../etc/passwd\tx\nd.jpg\tok\n"
    )
    items = list(TableReader(t))
    ok = {i.key: i for i in items if isinstance(i, RawSample)}
    assert sorted(ok) == ["a.jpg", "b.jpg", "d.jpg"]
    # a row that is not UTF-8 is decoded with a legacy encoding, which its meta records
    assert ok["b.jpg"].slots[1] == "caf\xe9" and ok["b.jpg"].meta == {"caption_encoding": "cp1252"}
    failures = sorted(
        (i.reason, i.location.rsplit(":", 1)[1]) for i in items if isinstance(i, Failure)
    )
    assert failures == [("malformed_row", "4"), ("path_traversal", "5")]


def test_missing_named_column_is_a_config_error(tmp_path: Path):
    t = tmp_path / "c.csv"
    t.write_text("foo,bar\n1,2\n")
    with pytest.raises(ConfigError):
        list(TableReader(t))
    with pytest.raises(ConfigError, match="caption column 'nope'"):
        list(TableReader(t, caption_column="nope"))


def test_absolute_image_paths_need_the_opt_in(tmp_path: Path):
    img = tmp_path / "elsewhere" / "a.jpg"
    t = tmp_path / "abs.tsv"
    t.write_text(f"image\tcaption\n{img}\ta photo kept elsewhere\n")
    (refused,) = TableReader(t)
    assert isinstance(refused, Failure) and refused.reason == "path_traversal"
    assert "allow_absolute_paths=true" in refused.error  # the refusal says how to accept
    (ok,) = TableReader(t, allow_absolute_paths=True)
    assert isinstance(ok, RawSample) and ok.slots[0].path == str(img)

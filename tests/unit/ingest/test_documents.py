"""Interleaved documents in the OBELICS layout, from JSONL and Parquet."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from plait.errors import ConfigError
from plait.ingest.base import Failure, ImageInput, RawSample
from plait.ingest.documents import DocumentsReader


def _split(items) -> tuple[list[RawSample], list[Failure]]:
    items = list(items)
    return [i for i in items if isinstance(i, RawSample)], [
        i for i in items if isinstance(i, Failure)
    ]


def _png(color: str = "red") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), color).save(buf, "PNG")
    return buf.getvalue()


# An OBELICS row as published: metadata / general_metadata are JSON strings.
OBELICS_ROW = {
    "images": [None, "https://example.org/cat.jpg", None],
    "texts": ["A cat sat on the mat.", None, "Then it left."],
    "metadata": json.dumps(
        [None, {"alt_text": "a cat", "src": "https://example.org/cat.jpg"}, None]
    ),
    "general_metadata": json.dumps(
        {"url": "https://example.org/story", "warc_filename": "w.warc.gz"}
    ),
}


def _write_jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_obelics_rows_become_interleaved_documents(tmp_path: Path):
    (tmp_path / "imgs").mkdir()
    (tmp_path / "imgs" / "local.png").write_bytes(_png())
    local = {
        "id": "doc-2",
        "texts": [None, "caption after"],
        "images": ["imgs/local.png", None],
        "license": "CC-BY-4.0",
    }
    path = _write_jsonl(tmp_path / "docs.jsonl", [json.dumps(OBELICS_ROW), json.dumps(local)])

    reader = DocumentsReader(path, licence="ODC-BY-1.0")
    assert reader.dataset == "docs" and reader.estimate() is None
    samples, failures = _split(reader)
    assert failures == []
    web, mine = samples

    assert web.kind == "document"
    assert web.slots[0] == "A cat sat on the mat." and web.slots[2] == "Then it left."
    image = web.slots[1]
    assert isinstance(image, ImageInput) and image.url == "https://example.org/cat.jpg"
    assert web.source.url == "https://example.org/story"
    assert web.source.licence == "ODC-BY-1.0" and web.source.uri == f"{path}:1"
    assert web.meta["metadata"][1]["alt_text"] == "a cat"  # the JSON string, parsed
    assert web.meta["general_metadata"]["warc_filename"] == "w.warc.gz"
    assert web.key.startswith("sha256-")  # no id column: a content hash

    assert mine.key == "doc-2" and mine.source.licence == "CC-BY-4.0"
    assert (
        mine.slots[0].path == str(tmp_path / "imgs" / "local.png")
        and mine.slots[1] == "caption after"
    )

    # the same document again, from another file, gets the same key: stored once
    again = _write_jsonl(tmp_path / "copy.jsonl", [json.dumps(OBELICS_ROW)])
    assert next(iter(DocumentsReader(again))).key == web.key


def test_bad_rows_are_failures_at_file_and_line(tmp_path: Path):
    good = {"texts": ["fine"], "images": [None]}
    lines = [
        json.dumps(good),
        json.dumps({"texts": ["a", None], "images": [None]}),  # 2: lengths differ
        json.dumps({"texts": [None], "images": [None]}),  # 3: neither
        json.dumps({"texts": ["x"], "images": ["https://e.org/x.jpg"]}),  # 4: both
        "{this is not json",  # 5
        json.dumps({"texts": [None], "images": ["../../etc/passwd"]}),  # 6: leaves the root
        json.dumps({"texts": [None], "images": ["/etc/hostname"]}),  # 7: absolute
        json.dumps({"texts": [None], "images": ["file:///etc/passwd"]}),  # 8: scheme
        json.dumps({"texts": "not a list", "images": []}),  # 9
        json.dumps({"texts": [], "images": []}),  # 10: empty
        json.dumps([1, 2]),  # 11: not an object
    ]
    path = _write_jsonl(tmp_path / "bad.jsonl", lines)
    samples, failures = _split(DocumentsReader(path))
    assert [s.slots for s in samples] == [["fine"]]
    assert [(f.location, f.reason) for f in failures] == [
        (f"{path}:2", "malformed_row"),
        (f"{path}:3", "malformed_row"),
        (f"{path}:4", "malformed_row"),
        (f"{path}:5", "malformed_row"),
        (f"{path}:6", "path_traversal"),
        (f"{path}:7", "path_traversal"),
        (f"{path}:8", "bad_url"),
        (f"{path}:9", "malformed_row"),
        (f"{path}:10", "empty_row"),
        (f"{path}:11", "malformed_row"),
    ]
    assert "position 0 holds neither" in failures[1].error


def test_parquet_documents_with_image_bytes_stream_in_batches(tmp_path: Path):
    rows = [
        {
            "id": f"d{i}",
            "texts": [f"text {i}", None],
            "images": [None, {"bytes": _png(), "path": f"{i}.png"}],
            "url": f"https://example.org/{i}",
        }
        for i in range(3000)
    ]
    schema = pa.schema(
        [
            ("id", pa.string()),
            ("texts", pa.list_(pa.string())),
            ("images", pa.list_(pa.struct([("bytes", pa.binary()), ("path", pa.string())]))),
            ("url", pa.string()),
        ]
    )
    path = tmp_path / "docs.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path, row_group_size=500)

    reader = DocumentsReader(path)
    assert reader.estimate() == 3000
    samples, failures = _split(reader)
    assert failures == [] and len(samples) == 3000
    last = samples[-1]
    assert last.key == "d2999" and last.slots[0] == "text 2999"
    assert last.slots[1].data == _png() and last.slots[1].location == "2999.png"
    assert last.source.url == "https://example.org/2999" and last.source.uri == f"{path}:3000"


def test_a_folder_of_files_is_read_in_sorted_order(tmp_path: Path):
    for name in ("b.jsonl", "a.jsonl"):
        _write_jsonl(tmp_path / name, [json.dumps({"id": name, "texts": [name], "images": [None]})])
    assert [s.key for s in DocumentsReader(tmp_path)] == ["a.jsonl", "b.jsonl"]


def test_a_file_that_is_not_a_document_table_is_a_config_error(tmp_path: Path):
    (tmp_path / "x.csv").write_text("a,b\n")
    with pytest.raises(ConfigError):
        DocumentsReader(tmp_path / "x.csv")

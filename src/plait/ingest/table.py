"""Caption tables: TSV, CSV, Parquet and JSONL with an image column and a caption column.

Rows of the same image that are adjacent (as in Flickr/COCO caption files,
five captions per image) become ONE pair sample with one caption slot each, not
five copies of the image. Images are local paths (relative to ``image_root``)
or URLs, which the ingest loop downloads.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from plait.errors import ConfigError
from plait.ingest._safety import local_path_problem
from plait.ingest.base import Failure, ImageInput, Item, RawSample
from plait.ingest.encoding import META_KEY, decode_text
from plait.schema import IMAGE, PAIR, TEXT, Source

IMAGE_COLUMNS = (
    "image",
    "image_path",
    "filepath",
    "filename",
    "file",
    "path",
    "img",
    "jpg",
    "url",
    "image_url",
    "img_url",
)
CAPTION_COLUMNS = (
    "caption",
    "text",
    "txt",
    "title",
    "alt",
    "alt_text",
    "description",
    "sentence",
    "raw",
)
LICENCE_COLUMNS = ("licence", "license")
TABLE_EXTS = (".tsv", ".csv", ".parquet", ".jsonl", ".ndjson")


def table_format(path: Path) -> str:
    ext = path.suffix.lower()
    if ext not in TABLE_EXTS:
        raise ConfigError(f"{path}: not a caption table (expected one of {', '.join(TABLE_EXTS)})")
    return ext.lstrip(".").replace("ndjson", "jsonl")


def iter_rows(path: Path, fmt: str) -> Iterator[tuple[int, dict[str, Any] | Failure]]:
    """(line or row number, row) pairs, streamed; a malformed row yields a Failure."""
    if fmt == "parquet":
        import pyarrow.parquet as pq

        n = 0
        for batch in pq.ParquetFile(path).iter_batches(batch_size=2048):
            for row in batch.to_pylist():
                n += 1
                yield n, row
        return
    with open(path, "rb") as fb:
        if fmt == "jsonl":
            for n, raw in enumerate(fb, 1):
                if not raw.strip():
                    continue
                try:
                    row = json.loads(raw.decode("utf-8"))
                except UnicodeDecodeError as exc:
                    yield n, Failure(f"{path}:{n}", "bad_encoding", str(exc))
                    continue
                except json.JSONDecodeError as exc:
                    yield n, Failure(f"{path}:{n}", "malformed_row", f"invalid JSON: {exc}")
                    continue
                if not isinstance(row, dict):
                    yield (
                        n,
                        Failure(f"{path}:{n}", "malformed_row", "a JSONL row must be an object"),
                    )
                    continue
                yield n, row
            return
        # surrogateescape keeps undecodable bytes, so a row that is not UTF-8 is decoded
        # alone with a legacy encoding (recorded in its meta: plait.ingest.encoding)
        text = io.TextIOWrapper(fb, encoding="utf-8", errors="surrogateescape", newline="")
        reader = csv.reader(text, delimiter="\t" if fmt == "tsv" else ",")
        header: list[str] | None = None
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:  # e.g. a field over the size limit: that row only
                yield (
                    reader.line_num,
                    Failure(f"{path}:{reader.line_num}", "malformed_row", str(exc)),
                )
                continue
            where = f"{path}:{reader.line_num}"
            legacy = None
            if any(_has_surrogates(f) for f in fields):
                fields, legacy = _legacy(fields)
            if header is None:
                header = [h.strip().lstrip("\ufeff") for h in fields]
                continue
            if not fields:
                continue
            if len(fields) != len(header):
                msg = f"{len(fields)} fields, header has {len(header)}"
                yield reader.line_num, Failure(where, "malformed_row", msg)
                continue
            row = dict(zip(header, fields))
            if legacy:
                row[_ENCODING] = legacy
            yield reader.line_num, row


_ENCODING = "_encoding"  # internal key: the legacy encoding a row was decoded with


def _legacy(fields: list[str]) -> tuple[list[str], str]:
    """Fields read as UTF-8 with surrogateescape, decoded again with the legacy encoding
    the whole row decodes with."""
    raw = [f.encode("utf-8", "surrogateescape") for f in fields]
    _, enc = decode_text(b"\t".join(raw))
    assert enc is not None
    return [b.decode(enc) for b in raw], enc


def _has_surrogates(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _pick(columns: list[str], wanted: tuple[str, ...], given: str | None, what: str) -> str | None:
    if given:
        if given not in columns:
            raise ConfigError(f"{what} column {given!r} not found; columns are {columns}")
        return given
    lower = {c.lower(): c for c in columns}
    return next((lower[w] for w in wanted if w in lower), None)


@dataclass
class TableReader:
    """Streams a caption table; adjacent rows of one image merge into one sample."""

    path: str | Path
    dataset: str = ""
    licence: str = "unknown"
    image_column: str | None = None
    caption_column: str | None = None
    image_root: str | Path | None = None
    allow_absolute_paths: bool = False  # opt in: image cells may name any file on this machine
    _path: Path = field(init=False, repr=False)
    _fmt: str = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._path = Path(self.path)
        self._fmt = table_format(self._path)
        self.dataset = self.dataset or f"{self._path.parent.name}-{self._path.stem}".strip("-")

    def estimate(self) -> int | None:
        if self._fmt == "parquet":
            import pyarrow.parquet as pq

            return pq.ParquetFile(self._path).metadata.num_rows
        return None

    def _root(self, first: str) -> Path:
        if self.image_root is not None:
            return Path(self.image_root).resolve()
        base = self._path.parent.resolve()
        for cand in (base, base / "images", base / "Images", base / "imgs"):
            if (cand / first).exists():
                return cand
        return base

    def __iter__(self) -> Iterator[Item]:
        cols: list[str] | None = None
        img_col = cap_col = None
        root: Path | None = None
        group: list[dict[str, Any]] = []
        group_key: str | None = None
        seen: dict[str, int] = {}
        for n, row in iter_rows(self._path, self._fmt):
            if isinstance(row, Failure):
                yield row
                continue
            if cols is None:
                cols = [c for c in row if c != _ENCODING]
                img_col = _pick(cols, IMAGE_COLUMNS, self.image_column, "image")
                cap_col = _pick(cols, CAPTION_COLUMNS, self.caption_column, "caption")
                if img_col is None and cap_col is None:
                    raise ConfigError(
                        f"{self._path}: found neither an image nor a caption column in {cols}"
                    )
            image = str(row.get(img_col) or "").strip() if img_col else ""
            if root is None and image and not _is_url(image):
                root = self._root(image)
            key = image or f"row{n}"
            if group and key != group_key:
                yield self._sample(group_key, group, img_col, cap_col, root, seen)
                group = []
            group_key = key
            row["_line"] = n
            group.append(row)
        if group:
            yield self._sample(group_key, group, img_col, cap_col, root, seen)

    def _sample(
        self,
        key: str | None,
        rows: list[dict[str, Any]],
        img_col: str | None,
        cap_col: str | None,
        root: Path | None,
        seen: dict[str, int],
    ) -> Item:
        assert key is not None
        first = rows[0]
        where = f"{self._path}:{first['_line']}"
        image = str(first.get(img_col) or "").strip() if img_col else ""
        captions = [
            str(r[cap_col]).strip() for r in rows if cap_col and r.get(cap_col) not in (None, "")
        ]
        seen[key] = seen.get(key, 0) + 1
        sample_key = key if seen[key] == 1 else f"{key}#{seen[key]}"
        if img_col and not image:
            return Failure(where, "missing_image", f"the image column {img_col!r} is empty")
        slots: list[Any] = []
        url = None
        if image:
            if _is_url(image):
                url = image
                slots.append(ImageInput(url=image, location=image))
            else:
                p = (root or self._path.parent) / image
                problem = local_path_problem(image, allow_absolute=self.allow_absolute_paths)
                if problem:
                    return Failure(where, "path_traversal", problem)
                slots.append(ImageInput(path=str(p), location=str(p)))
        slots.extend(captions)
        meta = {
            k: v
            for k, v in first.items()
            if k not in (img_col, cap_col, "_line", _ENCODING) and v not in (None, "")
        }
        legacy = next((r[_ENCODING] for r in rows if r.get(_ENCODING)), None)
        if legacy:
            meta[META_KEY] = legacy
        licence = next((str(first[c]) for c in LICENCE_COLUMNS if first.get(c)), self.licence)
        kind = PAIR if image and captions else (IMAGE if image else TEXT)
        if not slots:
            return Failure(where, "empty_row", "row has neither an image nor a caption")
        return RawSample(
            key=sample_key,
            kind=kind,
            slots=slots,
            source=Source(uri=where, dataset=self.dataset, licence=licence, url=url),
            meta=meta,
        )


def _is_url(value: str) -> bool:
    return value.startswith(("http://", "https://"))

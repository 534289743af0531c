"""Interleaved documents in the OBELICS layout (JSONL or Parquet).

Each row holds two parallel lists, ``texts`` and ``images``: at every position
exactly one is non-null, so together they give the document's reading order.
An image entry is a URL (downloaded by the ingest loop), a local path relative
to ``image_root`` (default: the file's folder), or a Hugging Face ``Image``
struct ``{"bytes": ..., "path": ...}``. One row becomes one ``document``
sample with the slots in that order.

Optional columns: ``id``/``key`` (the sample key; otherwise a hash of the
row's content, so the same document in two files is stored once), ``url`` or
``general_metadata.url`` (the page the document came from), ``licence`` /
``license``, and ``metadata`` / ``general_metadata`` as JSON strings or
objects. Everything the row said besides the slots goes into ``meta``, JSON
strings parsed.

A row plait exported (:mod:`plait.io.records`: a record in ``general_metadata``, or
the Parquet layout with ``image_bytes``) comes back as the sample it was: same id,
kind, slots, tags, family, licence, meta and stats.

A bad row (lists of different lengths, a position with both or neither entry,
a line that is not JSON, a local path that leaves the image root) is a
``Failure`` at ``file:line`` and never stops the file.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from plait.errors import ConfigError, InputError
from plait.ingest._safety import is_url, local_path_problem
from plait.ingest.base import Failure, ImageInput, Item, RawSample
from plait.ingest.reassemble import from_record
from plait.ingest.table import iter_rows
from plait.io import records
from plait.schema import DOCUMENT, Source

DOC_EXTS = (".jsonl", ".ndjson", ".parquet")
KEY_COLUMNS = ("id", "key", "doc_id", "document_id")
LICENCE_KEYS = ("licence", "license")


@dataclass
class DocumentsReader:
    """Streams OBELICS-style documents from a JSONL/Parquet file or a folder of them."""

    path: str | Path
    dataset: str = ""
    licence: str = "unknown"
    image_root: str | Path | None = None
    allow_absolute_paths: bool = False
    _files: list[Path] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        p = Path(self.path)
        if p.is_dir():
            self._files = sorted(f for f in p.rglob("*") if f.suffix.lower() in DOC_EXTS)
        elif p.suffix.lower() in DOC_EXTS:
            self._files = [p]
        else:
            raise ConfigError(f"{p}: expected a .jsonl or .parquet file, or a folder of them")
        self.dataset = self.dataset or (p.name if p.is_dir() else p.stem)

    def estimate(self) -> int | None:
        """Row count from Parquet footers; None when any file is JSONL (counting means reading)."""
        if any(f.suffix.lower() != ".parquet" for f in self._files):
            return None
        import pyarrow.parquet as pq

        return sum(pq.ParquetFile(f).metadata.num_rows for f in self._files)

    def __iter__(self) -> Iterator[Item]:
        for f in self._files:
            fmt = "parquet" if f.suffix.lower() == ".parquet" else "jsonl"
            root = Path(self.image_root) if self.image_root is not None else f.parent
            try:
                rows = iter_rows(f, fmt)
                for n, row in rows:
                    if isinstance(row, Failure):
                        yield row
                        continue
                    where = f"{f}:{n}"
                    try:
                        yield self._document(row, where, root)
                    except InputError as exc:
                        yield Failure(where, exc.reason, str(exc))
            except OSError as exc:  # unreadable file, broken Parquet footer
                yield Failure(str(f), "unreadable_file", f"{type(exc).__name__}: {exc}")
            except Exception as exc:  # noqa: BLE001 - pyarrow raises ArrowInvalid for bad Parquet
                yield Failure(str(f), "malformed_file", f"{type(exc).__name__}: {exc}")

    def _document(self, row: dict[str, Any], where: str, root: Path) -> RawSample:
        exported = self._exported(row, where, root)
        if exported is not None:
            return exported
        texts, images = row.get("texts"), row.get("images")
        if not isinstance(texts, list) or not isinstance(images, list):
            raise InputError(
                "malformed_row", "a document row needs list columns 'texts' and 'images'"
            )
        if len(texts) != len(images):
            raise InputError(
                "malformed_row",
                f"'texts' has {len(texts)} entries and 'images' {len(images)}; they must match",
            )
        slots: list[Any] = []
        for i, (text, image) in enumerate(zip(texts, images)):
            if (text is None) == (image is None):
                which = (
                    "both a text and an image"
                    if text is not None
                    else "neither a text nor an image"
                )
                raise InputError("malformed_row", f"position {i} holds {which}")
            if text is not None:
                if not isinstance(text, str):
                    raise InputError(
                        "malformed_row",
                        f"position {i}: text is a {type(text).__name__}, not a string",
                    )
                slots.append(text)
            else:
                slots.append(self._image(image, f"{where}#img{i}", root))
        if not slots:
            raise InputError("empty_row", "document has no slots")

        meta = {
            k: _parse_json(v)
            for k, v in row.items()
            if k not in ("texts", "images") and _keepable(v)
        }
        general = _dict(meta.get("general_metadata"))
        extra = _dict(meta.get("metadata"))
        url = next(
            (
                v
                for v in (row.get("url"), general.get("url"), extra.get("url"))
                if isinstance(v, str)
            ),
            None,
        )
        licence = next(
            (
                str(d[k])
                for d in (row, general, extra)
                for k in LICENCE_KEYS
                if d.get(k) not in (None, "")
            ),
            self.licence,
        )
        key = next((str(row[k]) for k in KEY_COLUMNS if isinstance(row.get(k), (str, int))), None)
        return RawSample(
            key=key or _content_key(texts, images),
            kind=DOCUMENT,
            slots=slots,
            source=Source(uri=where, dataset=self.dataset, licence=licence, url=url),
            meta=meta,
        )

    def _exported(self, row: dict[str, Any], where: str, root: Path) -> RawSample | None:
        """The sample a plait export row describes, or None for any other row."""
        texts = row.get("texts")
        if "image_bytes" in row:  # plait's Parquet layout: the record as columns
            record = records.from_columns(row)
            blobs = row.get("image_bytes") or []
            if not records.is_record(record) or len(blobs) != len(record["images"]):
                return None

            def image(i: int, media_id: str) -> ImageInput:
                data = blobs[i]
                return ImageInput(data=bytes(data) if data else None, location=f"{where}#img{i}")

            return from_record(record, image)
        general = _parse_json(row.get("general_metadata"))
        if not isinstance(general, dict) or not isinstance(texts, list):
            return None
        record = {**general, "texts": texts}
        paths = row.get("images")
        if not records.is_record(record) or not isinstance(paths, list):
            return None
        if len(paths) != len(texts):
            raise InputError(
                "malformed_row", f"'texts' has {len(texts)} entries and 'images' {len(paths)}"
            )

        def from_file(i: int, media_id: str) -> ImageInput:
            if paths[i] is None:  # the export had no bytes for it
                return ImageInput(location=f"{where}#img{i}")
            return self._image(paths[i], f"{where}#img{i}", root)

        return from_record(record, from_file)

    def _image(self, value: Any, where: str, root: Path) -> ImageInput:
        if isinstance(value, dict):  # Hugging Face Image feature: {"bytes": ..., "path": ...}
            if value.get("bytes"):
                return ImageInput(data=bytes(value["bytes"]), location=value.get("path") or where)
            value = value.get("path") or value.get("url") or value.get("src")
        if isinstance(value, (bytes, bytearray)):
            return ImageInput(data=bytes(value), location=where)
        if not isinstance(value, str) or not value.strip():
            raise InputError(
                "malformed_row", f"{where}: an image entry must be a URL, a path or image bytes"
            )
        value = value.strip()
        if is_url(value):
            return ImageInput(url=value, location=value)
        if "://" in value or value.startswith("data:"):
            raise InputError("bad_url", f"{where}: unsupported URL scheme in {value[:80]!r}")
        problem = local_path_problem(value, allow_absolute=self.allow_absolute_paths)
        if problem:
            raise InputError("path_traversal", f"{where}: {problem}")
        path = root / value
        return ImageInput(path=str(path), location=str(path))


def _parse_json(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _keepable(value: Any) -> bool:
    """Meta is stored as JSON: raw bytes (and None) are left out."""
    return value is not None and not isinstance(value, (bytes, bytearray))


def _content_key(texts: list[Any], images: list[Any]) -> str:
    h = hashlib.sha256()
    for t, im in zip(texts, images):
        if t is not None:
            h.update(b"t" + str(t).encode("utf-8", "surrogatepass") + b"\0")
        elif isinstance(im, dict) and im.get("bytes"):
            h.update(b"b" + hashlib.sha256(bytes(im["bytes"])).digest())
        elif isinstance(im, (bytes, bytearray)):
            h.update(b"b" + hashlib.sha256(bytes(im)).digest())
        else:
            h.update(b"i" + str(im.get("path") if isinstance(im, dict) else im).encode() + b"\0")
    return "sha256-" + h.hexdigest()[:32]


def _dict(value: Any) -> dict[str, Any]:
    """A nested metadata object, or {} when the row has none (or something else)."""
    return value if isinstance(value, dict) else {}

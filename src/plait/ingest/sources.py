"""From a source string to a reader: format detection and the reader registry."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from plait.errors import ConfigError
from plait.ingest.base import Reader
from plait.registry import Registry

# name -> reader class, called as cls(source, dataset=..., licence=..., **options)
READERS: Registry[Callable[..., Reader]] = Registry("ingest format")
READERS.add("folder", "plait.ingest.folder:FolderReader")
READERS.add("table", "plait.ingest.table:TableReader")
READERS.add("webdataset", "plait.ingest.webdataset:WebDatasetReader")
READERS.add("documents", "plait.ingest.documents:DocumentsReader")
READERS.add("pdf", "plait.ingest.pdf:PdfReader")
READERS.add("video", "plait.ingest.video:VideoReader")
READERS.add("audio", "plait.ingest.audio:AudioReader")

_PATTERN = re.compile(r"\{[^{}]*(?:\.\.|,)[^{}]*\}|[*?\[]")


def detect_format(source: str) -> str:
    """Pick a reader for a path, a brace pattern of shards, or a table."""
    if _PATTERN.search(source) and not Path(source).exists():
        return "webdataset"  # brace ranges or lists, or a glob, of shards
    if source.endswith((".tar", ".tar.gz", ".tgz")):
        return "webdataset"
    p = Path(source)
    if not p.exists():
        raise ConfigError(f"source {source!r} does not exist")
    if p.is_file():
        ext = p.suffix.lower()
        if ext == ".pdf":
            return "pdf"
        if ext in (".jsonl", ".ndjson", ".parquet"):
            return "documents" if _has_document_columns(p) else "table"
        if ext in (".tsv", ".csv"):
            return "table"
        from plait.av.probe import AUDIO_EXTS, VIDEO_EXTS

        if ext in VIDEO_EXTS:
            return "video"
        if ext in AUDIO_EXTS:
            return "audio"
        raise ConfigError(f"cannot tell the format of {source!r}; pass --format")
    from plait.av.probe import AUDIO_EXTS, VIDEO_EXTS
    from plait.ingest.folder import IMAGE_EXTS

    tables = sorted(f for f in p.iterdir() if f.suffix.lower() in (".jsonl", ".ndjson", ".parquet"))
    if tables and all(_has_document_columns(f) for f in tables):
        return "documents"  # a folder of OBELICS files (plait's export: images/ beside them)
    has_images = has_pdfs = has_tars = has_videos = has_sounds = False
    for f in p.rglob("*"):
        ext = f.suffix.lower()
        has_images |= ext in IMAGE_EXTS
        has_pdfs |= ext == ".pdf"
        has_tars |= ext == ".tar"
        has_videos |= ext in VIDEO_EXTS
        has_sounds |= ext in AUDIO_EXTS
        if has_images and has_pdfs:
            raise ConfigError(
                f"{source!r} holds both images and PDFs; ingest them with --format folder "
                "and --format pdf (each reads only its own files)"
            )
    if has_images:
        return "folder"
    if has_pdfs:
        return "pdf"
    if has_tars:
        return "webdataset"
    if has_videos:  # sound files beside videos are read with --format audio
        return "video"
    if has_sounds:
        return "audio"
    raise ConfigError(f"{source!r} holds no images, PDFs, tar shards, videos or sound files")


def shard_of_metadata(source: str) -> str | None:
    """The tar shard a WebDataset metadata file describes (img2dataset, and plait's
    export, write ``NNNNN.parquet`` beside ``NNNNN.tar``: one row per key, no image
    bytes), else None. Ingesting the metadata file reads its shard."""
    p = Path(source)
    tar = p.with_suffix(".tar")
    if p.suffix.lower() != ".parquet" or not p.is_file() or not tar.is_file():
        return None
    import pyarrow.parquet as pq

    try:
        names = set(pq.read_schema(p).names)
    except Exception:  # noqa: BLE001 - not Parquet after all: let the table reader say so
        return None
    return str(tar) if {"key", "status"} <= names else None


def _has_document_columns(path: Path) -> bool:
    """OBELICS-style rows carry parallel ``texts`` and ``images`` lists."""
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        names = set(pq.read_schema(path).names)
        return {"texts", "images"} <= names
    import json

    with open(path, "rb") as f:
        for raw in f:
            if raw.strip():
                try:
                    row = json.loads(raw)
                except ValueError:
                    return False
                return isinstance(row, dict) and "texts" in row and "images" in row
    return False


def open_source(
    source: str | Path,
    *,
    fmt: str = "auto",
    dataset: str | None = None,
    licence: str | None = None,
    **options: Any,
) -> Reader:
    """A reader for ``source``; ``fmt`` is a name from :data:`READERS` or ``auto``."""
    source = str(source)
    shard = shard_of_metadata(source) if fmt in ("auto", "webdataset") else None
    if shard is not None:  # img2dataset's NNNNN.parquet: its rows describe NNNNN.tar
        source, fmt = shard, "webdataset"
    name = detect_format(source) if fmt == "auto" else fmt
    cls = READERS.get(name)
    kwargs: dict[str, Any] = dict(options)
    if dataset:
        kwargs["dataset"] = dataset
    if licence:
        kwargs["licence"] = licence
    try:
        return cls(source, **kwargs)
    except TypeError as exc:
        raise ConfigError(f"{name} reader: {exc}") from exc

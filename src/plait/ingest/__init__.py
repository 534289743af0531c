"""Ingest raw multimodal data into a corpus.

>>> from plait import Corpus
>>> from plait.ingest import ingest
>>> report = ingest(Corpus.init("c"), "photos/", licence="CC-BY-4.0")  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from plait.ingest.base import Failure, ImageInput, RawSample, Reader
from plait.ingest.loop import IngestOptions, IngestReport, run_ingest
from plait.ingest.sources import READERS, detect_format, open_source
from plait.io.corpus import Corpus
from plait.progress import Progress, counter

__all__ = [
    "READERS",
    "Failure",
    "ImageInput",
    "IngestOptions",
    "IngestReport",
    "RawSample",
    "Reader",
    "detect_format",
    "ingest",
    "open_source",
]


def ingest(
    corpus: Corpus | str | Path,
    source: str | Path | Reader,
    *,
    dataset: str | None = None,
    licence: str | None = None,
    fmt: str = "auto",
    progress: Progress | None = None,
    fetcher: Any = None,
    options: IngestOptions | None = None,
    **reader_options: Any,
) -> IngestReport:
    """Read ``source`` into ``corpus``; idempotent and resumable.

    ``source`` is a path (image folder, caption table, OBELICS JSONL/Parquet,
    PDF or folder of PDFs, tar shard or brace pattern of shards) or a reader.
    Returns counts of samples added, skipped (already present) and quarantined
    by reason. Raises NothingReadError only if no input at all could be read.
    ``progress`` counts the inputs read (of the reader's estimate, when it has one).
    """
    if not isinstance(corpus, Corpus):
        corpus = Corpus.init(corpus)
    reader = (
        source
        if not isinstance(source, (str, Path))
        else open_source(source, fmt=fmt, dataset=dataset, licence=licence, **reader_options)
    )
    opts = options or IngestOptions()
    params = {
        "source": str(source),
        "format": fmt,
        "dataset": reader.dataset,
        "licence": getattr(reader, "licence", None),
        **{k: str(v) for k, v in reader_options.items()},
    }
    advance = counter(progress, reader.estimate(), f"ingest {reader.dataset}") if progress else None
    return run_ingest(corpus, reader, opts, fetcher=fetcher, params=params, on_progress=advance)

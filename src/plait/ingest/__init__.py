"""Ingest raw multimodal data into a corpus.

>>> from plait import Corpus
>>> from plait.ingest import ingest
>>> report = ingest(Corpus.init("c"), "photos/", licence="CC-BY-4.0")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from plait.errors import ConfigError
from plait.ingest.base import Failure, ImageInput, RawSample, Reader
from plait.ingest.distributed import ChainReader, RayReader
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
    source: str | Path | Reader | Sequence[str | Path],
    *,
    dataset: str | None = None,
    licence: str | None = None,
    fmt: str = "auto",
    progress: Progress | None = None,
    fetcher: Any = None,
    options: IngestOptions | None = None,
    executor: str = "local",
    **reader_options: Any,
) -> IngestReport:
    """Read ``source`` into ``corpus``; idempotent and resumable.

    ``source`` is a path (image folder, caption table, OBELICS JSONL/Parquet,
    PDF or folder of PDFs, tar shard or brace pattern of shards), a list of
    paths read one after another, or a reader. ``executor="ray"`` reads and
    validates the source's parts (shards, groups of files) in parallel on Ray,
    ``options.workers`` at a time (see :mod:`plait.ingest.distributed`).
    Returns counts of samples added, skipped (already present) and quarantined
    by reason. Raises NothingReadError only if no input at all could be read.
    ``progress`` counts the inputs read (of the reader's estimate, when it has one).
    """
    if executor not in ("local", "ray"):
        raise ConfigError(f"executor must be 'local' or 'ray', not {executor!r}")
    if not isinstance(corpus, Corpus):
        corpus = Corpus.init(corpus)
    sources: list[str | Path | Reader] = (
        list(source)
        if isinstance(source, Sequence) and not isinstance(source, (str, bytes))
        else [source]
    )
    if not sources:
        raise ConfigError("no source to ingest")
    readers: list[Reader] = [
        s
        if not isinstance(s, (str, Path))
        else open_source(s, fmt=fmt, dataset=dataset, licence=licence, **reader_options)
        for s in sources
    ]
    reader: Reader = readers[0] if len(readers) == 1 else ChainReader(readers)
    opts = options or IngestOptions()
    params = {
        "source": " ".join(str(s) for s in sources),
        "format": fmt,
        "dataset": reader.dataset,
        "licence": getattr(reader, "licence", None),
        "executor": executor,
        **{k: str(v) for k, v in reader_options.items()},
    }
    advance = counter(progress, reader.estimate(), f"ingest {reader.dataset}") if progress else None
    if executor == "local":
        return run_ingest(corpus, reader, opts, fetcher=fetcher, params=params, on_progress=advance)
    from plait.cluster import connect
    from plait.ingest.ledger import Known

    known = Known(corpus)
    skip = frozenset().union(*(known.settled(r.dataset) for r in readers))
    ray, connected = connect(opts.workers)
    try:
        remote = RayReader(reader, opts, opts.workers, skip)
        return run_ingest(corpus, remote, opts, fetcher=fetcher, params=params, on_progress=advance)
    finally:
        if connected:
            ray.shutdown()

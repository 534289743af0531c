"""Export a subset of a corpus as training shards.

Formats: ``webdataset`` (tar shards as img2dataset writes them: ``KEY.jpg``,
``KEY.txt``, ``KEY.json``), ``parquet`` (one row per sample with its media
bytes), ``jsonl`` (OBELICS layout: parallel ``images``/``texts`` lists, images
as files beside the shards), ``clips`` and ``sounds`` (WebDataset shards of
``KEY.mp4`` or the sound file, with ``KEY.txt`` and ``KEY.json``; see
:mod:`plait.export.av`). The subset is a ``where`` filter, a search query
or a list of ids. Each export records a ``runs`` row.

>>> from plait.export import export
>>> export(corpus, "out/", "webdataset", where="source.licence = 'CC-BY-4.0'")  # doctest: +SKIP
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from plait.errors import ConfigError, UnknownNameError
from plait.export.select import select
from plait.export.writers import WRITERS
from plait.io.corpus import Corpus
from plait.io.runs import Run
from plait.io.where import Expr, where_sql
from plait.progress import Progress
from plait.views import check_caption_rule

FORMATS = tuple(WRITERS)


@dataclass
class ExportReport:
    run_id: str = ""
    format: str = ""
    dest: str = ""
    selected: int = 0  # samples in the subset
    exported: int = 0  # records written (pairs for webdataset, samples otherwise)
    shards: int = 0
    files: list[str] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def export(
    corpus: Corpus,
    dest: str | Path,
    fmt: str = "webdataset",
    *,
    where: str | Expr | None = None,
    query: Any = None,
    ids: list[str] | None = None,
    limit: int | None = None,
    shard_size: int = 10_000,
    overwrite: bool = False,
    caption: str = "first",
    progress: Progress | None = None,
) -> ExportReport:
    """Write the chosen samples to ``dest`` in ``fmt``; returns counts and file names.

    ``query`` is a :class:`plait.retrieval.Query`. Refuses a non-empty ``dest``
    unless ``overwrite`` (shards of an older export would mix with the new ones).
    ``caption`` is the caption a pair is exported with: ``first``, ``original``,
    ``best`` (``best_caption``'s choice), ``generated`` or ``mix:P`` (Recap-DataComp:
    a fraction P of pairs with the generated caption); see
    :func:`plait.views.choose_caption`.
    """
    if fmt not in WRITERS:
        raise UnknownNameError("export format", fmt, WRITERS)
    check_caption_rule(caption)
    if caption != "first" and fmt != "webdataset":
        raise ConfigError(
            f"caption={caption!r} chooses the caption of WebDataset pairs; {fmt} keeps every "
            "caption slot (and stats.best_caption) as it is"
        )
    if shard_size < 1:
        raise ConfigError(f"shard_size must be at least 1, not {shard_size}")
    if "\0" in str(dest):
        raise ConfigError("the export destination contains a NUL character")
    out = Path(dest)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"export destination {out} is a file")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise ConfigError(
            f"export destination {out} is not empty (pass overwrite to write into it)"
        )
    params = {
        "dest": str(out),
        "format": fmt,
        "where": where_sql(where),  # parsed here: a bad filter fails before any work
        "query": repr(query) if query else None,
        "ids": len(ids) if ids is not None else None,
        "limit": limit,
        "shard_size": shard_size,
        "caption": caption,
    }
    report = ExportReport(format=fmt, dest=str(out))
    with Run(corpus, "export", params=params) as run:
        report.run_id = run.run_id
        selection = select(corpus, where=where, query=query, ids=ids, limit=limit)
        report.selected = selection.total
        out.mkdir(parents=True, exist_ok=True)
        writer = (
            WRITERS[fmt](out, shard_size, caption)  # type: ignore[call-arg]  # wds only
            if caption != "first"
            else WRITERS[fmt](out, shard_size)
        )
        done = 0
        if progress:
            progress(0, selection.total)
        for batch in selection.batches:
            media = corpus.media_many(m for s in batch for m in _wanted(s))
            for sample in batch:
                writer.add(sample, media)
            done += len(batch)
            if progress:
                progress(done, selection.total)
        writer.close()
        report.exported = writer.records
        report.files = writer.files
        report.shards = len(writer.files)
        report.skipped = dict(Counter(writer.skipped))
        report.seconds = run.elapsed
        run.counts.update(
            selected=report.selected,
            exported=report.exported,
            shards=report.shards,
            skipped=report.skipped,
        )
    return report


def _wanted(sample: Any) -> list[str]:
    """Media bytes the writers need: images, and a sound's own bytes. A video's file is
    never read whole here (the clip writer cuts spans from it)."""
    from plait.schema import VIDEO

    return [] if sample.kind == VIDEO else sample.media_ids


__all__ = ["FORMATS", "ExportReport", "export"]

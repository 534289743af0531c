"""The ingest loop: reader items in, validated media and samples out.

Batches are committed as they fill (media first, then the samples that point
at them), so a run killed at any moment leaves a consistent corpus; a rerun
skips every sample id already present (or dropped by curation) and stores each
media item once, and so do ingests running at the same time (see
:mod:`plait.io.keyed`). A sample stored incomplete (images that could not be read) is
retried, and replaced when more of it reads now; the version it replaces goes to
``replaced``. One bad input never ends a run: it becomes a ``quarantine`` row with
its location and reason, and the report counts it; a later run that reads the
input removes the row (:mod:`plait.ingest.ledger`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from plait import schema
from plait.errors import InputError, NothingReadError
from plait.executors.changes import describe_change
from plait.ingest.base import Failure, ImageInput, MediaFile, RawSample, Reader
from plait.ingest.files import read_regular
from plait.ingest.hints import nothing_read
from plait.ingest.ledger import MISSING, Known, QuarantineLedger
from plait.io import media as media_mod
from plait.io.corpus import Corpus, sql_in
from plait.io.keyed import KeyedWriter
from plait.io.runs import Run
from plait.readahead import read_ahead

# Kinds for which a missing image (or video, or sound) means the sample is not worth keeping.
_IMAGE_REQUIRED = (schema.PAIR, schema.IMAGE, *schema.TIMED_MEDIA)


@dataclass
class IngestReport:
    run_id: str = ""
    dataset: str = ""
    read: int = 0  # samples the reader produced
    added: int = 0
    skipped: int = 0  # already in the corpus (idempotent rerun)
    completed: int = 0  # stored incomplete before; replaced now that more of it reads
    quarantine_cleared: int = 0  # earlier quarantine rows this run's reads settled
    media_added: int = 0
    media_bytes: int = 0
    media_reused: int = 0  # content already stored (same bytes elsewhere)
    quarantined: Counter = field(default_factory=Counter)
    by_kind: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    examples: dict[str, str] = field(default_factory=dict)  # reason -> "location: error"

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["quarantined"] = dict(self.quarantined)
        d["by_kind"] = dict(self.by_kind)
        return d


@dataclass
class IngestOptions:
    # samples per commit: the commits run on the writer thread, beside the decoding, so a
    # batch need not be large; the last one's write is what a run waits for at its end
    batch_size: int = 256
    # up to five batches are held at once (read ahead, two loading, one built, one being
    # written): 64 MiB each keeps a run of large images within a few hundred MiB
    max_batch_bytes: int = 64 * 1024 * 1024
    workers: int = 2  # threads that read and decode images (the decoders release the GIL)
    max_pixels: int = media_mod.MAX_PIXELS
    max_bytes: int = media_mod.MAX_BYTES
    copy_media: bool = True  # False: store local images by reference (uri), not bytes


def quarantine_id(location: str, reason: str) -> str:
    return hashlib.sha256(f"{location}\0{reason}".encode()).hexdigest()[:32]


@dataclass
class _Prepared:
    fresh: list[RawSample] = field(default_factory=list)
    retry: set[str] = field(default_factory=set)  # ids stored incomplete, tried again
    quarantine: list[dict[str, Any]] = field(default_factory=list)
    done: dict[int, Any] = field(default_factory=dict)
    # each future loads a chunk of inputs: one future per image cost more GIL time in
    # futures and wake-ups than hashing the image
    futures: list[tuple[list[Any], Future]] = field(default_factory=list)
    size: int = 0


@dataclass
class _Built:
    """A batch's rows, built on the main thread for the writer thread to store."""

    quarantine: list[dict[str, Any]]
    size: int  # inputs the batch read (progress)
    media: list[dict[str, Any]] = field(default_factory=list)
    samples: list[schema.Sample] = field(default_factory=list)
    better: list[schema.Sample] = field(default_factory=list)  # stored incomplete before
    stale: list[str] = field(default_factory=list)  # earlier quarantine rows now settled


@dataclass
class _Stored:
    """What storing a batch changed in the report's counts."""

    media_reused: int = 0
    added: int = 0
    skipped: int = 0
    completed: int = 0
    cleared: int = 0


class _Loop:
    def __init__(
        self,
        corpus: Corpus,
        reader: Reader,
        run: Run,
        opts: IngestOptions,
        fetcher: Any,
        report: IngestReport,
    ) -> None:
        self.corpus, self.reader, self.run, self.opts = corpus, reader, run, opts
        self.fetcher = fetcher
        self.report = report
        # the writers note each table's version before anything is read from it
        self.samples = KeyedWriter.open(corpus, "samples", keys=False)
        self.known_media = KeyedWriter.open(corpus, "media")
        self.known = Known(corpus)
        self.ledger = QuarantineLedger(corpus)
        self.tried: set[str] = set()  # incomplete samples retried in this run
        self.pool = ThreadPoolExecutor(max(1, opts.workers), thread_name_prefix="plait-ingest")
        if hasattr(reader, "known"):  # readers of costly inputs (video) skip what is stored
            ds = reader.dataset
            reader.known = lambda key: (
                (f"{ds}/{key}", ds) in self.known and f"{ds}/{key}" not in self.known.incomplete
            )

    def dataset(self, it: RawSample) -> str:
        return it.source.dataset or self.reader.dataset

    def sample_id(self, it: RawSample) -> str:
        """``DATASET/KEY``, or the id a plait export recorded for the sample."""
        return it.id or f"{self.dataset(it)}/{it.key}"

    # -- a batch: prepare (submit loads) then commit (wait, build, write) -------------------
    def prepare(self, items: list[RawSample | Failure]) -> _Prepared:
        """Drop known ids and start loading images; returns at once (loads run in threads)."""
        prep = _Prepared()
        for it in items:
            if isinstance(it, Failure):
                self._quarantine(prep.quarantine, it.location, it.reason, it.error)
                continue
            self.report.read += 1
            sid, ds = self.sample_id(it), self.dataset(it)
            if (sid, ds) in self.known:
                if sid not in self.known.incomplete or sid in self.tried:
                    self.report.skipped += 1
                    if sid not in self.known.dropped_incomplete:
                        self.ledger.read_ok(it)
                    continue
                prep.retry.add(sid)
                self.tried.add(sid)
            self.known.add(sid, ds)  # a repeated key within the run counts once
            prep.fresh.append(it)
        inputs = [s for it in prep.fresh for s in it.slots if isinstance(s, ImageInput)]
        for inp in inputs:
            if inp.loaded is not None:
                prep.done[id(inp)] = inp.loaded
        urls = [i for i in inputs if i.data is None and i.path is None and i.url]
        if urls:
            for inp, got in zip(urls, self._fetch(urls), strict=True):
                if isinstance(got, Failure):
                    prep.done[id(inp)] = InputError(got.reason, got.error, got.location)
                else:
                    inp.data = got
        todo = [inp for inp in inputs if id(inp) not in prep.done]
        step = max(1, min(32, len(todo) // (4 * max(1, self.opts.workers))))
        for lo in range(0, len(todo), step):
            chunk = todo[lo : lo + step]
            prep.futures.append((chunk, self.pool.submit(self._load_many, chunk)))
        for f in (s for it in prep.fresh for s in it.slots if isinstance(s, MediaFile)):
            prep.futures.append(([f], self.pool.submit(self._load_files, [f])))
        return prep

    def build(self, prep: _Prepared) -> _Built:
        """Wait for the batch's images and build its rows (on the main thread, the one
        that reads ``known`` and the ledger)."""
        resolved = dict(prep.done)
        for chunk, fut in prep.futures:
            resolved.update(zip(map(id, chunk), fut.result(), strict=True))
        media_rows: dict[str, dict[str, Any]] = {}
        built = _Built(quarantine=prep.quarantine, size=prep.size)
        for it in prep.fresh:
            sample = self._build(it, resolved, media_rows, prep.quarantine)
            if sample is None:
                continue
            if sample.id in prep.retry:
                if sample.stats.get(MISSING, 0) >= self.known.incomplete[sample.id]:
                    self.report.skipped += 1  # no more of it reads than before
                    continue
                built.better.append(sample)
            else:
                built.samples.append(sample)
                self.report.by_kind[sample.kind] += 1
        built.media = list(media_rows.values())
        built.stale = self.ledger.take_stale()
        return built

    def store(self, built: _Built) -> _Stored:
        """Write a built batch: its media first (a sample never points at missing media),
        then its samples, completions and quarantine rows, then the quarantine rows it
        settled go. Runs on the writer thread, one batch at a time, in order; what it
        counts reaches the report through :meth:`apply` on the main thread."""
        self.run.begun()  # nothing names the run before its row exists
        out = _Stored()
        if built.media:
            got = self.known_media.write(_media_table(built.media))
            out.media_reused = len(built.media) - got  # another writer stored them first
        if built.samples:
            # ids Known did not check (recorded by an export) take the key join
            checked = all(s.id.startswith(f"{s.source.dataset}/") for s in built.samples)
            got = self.samples.write(schema.samples_table(built.samples), known=checked)
            out.added, out.skipped = got, len(built.samples) - got
        if built.better:
            self._replace(built.better)
            out.completed = len(built.better)
        if built.quarantine:
            self.corpus.append(
                "quarantine", pa.Table.from_pylist(built.quarantine, schema=schema.QUARANTINE)
            )
        out.cleared = self.ledger.delete(built.stale)
        return out

    def apply(self, stored: _Stored) -> None:
        r = self.report
        r.media_added -= stored.media_reused
        r.media_reused += stored.media_reused
        r.added += stored.added
        r.skipped += stored.skipped
        r.completed += stored.completed
        r.quarantine_cleared += stored.cleared

    def _replace(self, better: list[schema.Sample]) -> None:
        """Store completed samples; the incomplete versions go to ``replaced`` first."""
        ids = [s.id for s in better]
        old = {r["id"]: r for r in self.corpus.read("samples", where=sql_in("id", ids)).to_pylist()}
        at = schema.now()
        rows = [
            {
                **old[s.id],
                "op": "ingest",
                "change": f"completed: {describe_change(old[s.id], s.to_row())}; "
                f"images missing {self.known.incomplete[s.id]} -> {s.stats.get(MISSING, 0)}",
                "replaced_by": self.run.run_id,
                "replaced_at": at,
                "restored_by": None,
            }
            for s in better
            if s.id in old
        ]
        self.corpus.append("replaced", pa.Table.from_pylist(rows, schema=schema.REPLACED))
        self.samples.upsert(schema.samples_table(better))
        for s in better:
            self.known.incomplete[s.id] = s.stats.get(MISSING, 0)

    def _fetch(self, urls: list[ImageInput]) -> list[bytes | Failure]:
        if self.fetcher is None:
            from plait.ingest.fetch import Fetcher

            self.fetcher = Fetcher()
        return self.fetcher.fetch_many(urls)

    def _load_files(self, files: list[MediaFile]) -> list[Any]:
        return [self._load_file(f) for f in files]

    def _load_many(
        self, inputs: list[ImageInput]
    ) -> list[tuple[bytes, media_mod.MediaInfo] | InputError]:
        return [self._load(inp) for inp in inputs]

    def _load(self, inp: ImageInput) -> tuple[bytes, media_mod.MediaInfo] | InputError:
        return load_image(inp, self.opts)

    def _load_file(self, f: MediaFile) -> tuple[bytes | None, media_mod.MediaInfo] | InputError:
        """A time-based media file: read only when it is stored inline (its hash then
        comes from the bytes read); by reference, the reader's chunked hash stands."""
        if not f.inline and f.data is None:
            return None, media_mod.MediaInfo(f.sha256, f.mime, f.width, f.height, f.size)
        try:
            data = f.data if f.data is not None else Path(f.path).read_bytes()
        except OSError as exc:
            return InputError("unreadable_file", f"{type(exc).__name__}: {exc}", f.location)
        if not data:
            return InputError("empty_file", "zero-byte file", f.location)
        info = media_mod.MediaInfo(media_mod.sha256(data), f.mime, f.width, f.height, len(data))
        return data, info

    def _build(
        self,
        it: RawSample,
        resolved: dict[int, Any],
        media_rows: dict[str, dict[str, Any]],
        quarantine: list[dict[str, Any]],
    ) -> schema.Sample | None:
        texts: list[str | None] = []
        images: list[str | None] = []
        langs: list[str | None] = []
        missing = 0
        sid = self.sample_id(it)
        self.ledger.retried(sid)
        slot_langs = it.langs or [None] * len(it.slots)
        for slot, lang in zip(it.slots, slot_langs, strict=False):
            if isinstance(slot, (ImageInput, MediaFile)):
                res = resolved[id(slot)]
                if isinstance(res, InputError):
                    self._quarantine(
                        quarantine, res.location or slot.location, res.reason, str(res), sid
                    )
                    if it.kind in _IMAGE_REQUIRED:
                        return None
                    missing += 1
                    continue
                data, info = res
                self._add_media(data, info, slot, media_rows)
                texts.append(None)
                images.append(info.id)
                langs.append(None)
            else:
                texts.append(str(slot))
                images.append(None)
                langs.append(lang)
        if not texts:
            return None
        stats = {k: v for k, v in it.stats.items() if k != MISSING}
        missing += int(it.stats.get(MISSING) or 0)  # never read at its origin (a plait export)
        if missing:
            stats[MISSING] = missing
        else:
            self.ledger.read_ok(it)
        source = it.source
        if any(isinstance(s, ImageInput) and s.url for s in it.slots) and source.fetched_at is None:
            source.fetched_at = schema.now()
        parent = it.parent_id or (f"{self.dataset(it)}/{it.parent_key}" if it.parent_key else None)
        return schema.Sample(
            id=sid,
            kind=it.kind,
            texts=texts,
            images=images,
            langs=langs,
            parent=parent,
            position=it.position,
            source=source,
            meta=it.meta,
            stats=stats,
            run_id=self.run.run_id,
        )

    def _add_media(
        self,
        data: bytes | None,
        info: media_mod.MediaInfo,
        slot: ImageInput | MediaFile,
        media_rows: dict[str, dict[str, Any]],
    ) -> None:
        if info.id in self.known_media:
            self.report.media_reused += 1
            return
        self.known_media.add(info.id)
        url = slot.url if isinstance(slot, ImageInput) else None
        by_ref = data is None or (not self.opts.copy_media and bool(slot.path))
        media_rows[info.id] = {
            "id": info.id,
            "bytes": None if by_ref else data,
            "uri": os.path.abspath(slot.path)
            if by_ref and slot.path
            else (url or slot.location or None),
            "mime": info.mime,
            "width": info.width,
            "height": info.height,
            "size": info.size,
        }
        self.report.media_added += 1
        self.report.media_bytes += info.size

    def _quarantine(
        self,
        rows: list[dict[str, Any]],
        location: str,
        reason: str,
        error: str,
        sample_id: str | None = None,
    ) -> None:
        self.report.quarantined[reason] += 1
        self.report.examples.setdefault(reason, f"{location}: {error[:300]}")
        qid = quarantine_id(location, reason)
        self.ledger.failed(qid)
        if qid in self.ledger.ids:
            return
        self.ledger.ids.add(qid)
        rows.append(
            {
                "id": qid,
                "location": location,
                "reason": reason,
                "error": error[:2000],
                "dataset": self.reader.dataset,
                "run_id": self.run.run_id,
                "at": schema.now(),
                "sample_id": sample_id,
            }
        )


def load_image(
    inp: ImageInput, opts: IngestOptions
) -> tuple[bytes, media_mod.MediaInfo] | InputError:
    """Read (if needed), hash and validate one image; the error is returned, not raised."""
    try:
        data = inp.data
        if data is None:
            if inp.path is None:
                raise InputError("missing_image", "image slot has no data, path or url")
            path = os.fspath(inp.path)
            try:
                data = read_regular(path, opts.max_bytes)
            except FileNotFoundError as exc:
                raise InputError("missing_file", f"no such file: {path}") from exc
        info = media_mod.probe(data, max_pixels=opts.max_pixels, max_bytes=opts.max_bytes)
        return data, info
    except InputError as exc:
        return exc
    except OSError as exc:
        return InputError("unreadable_file", f"{type(exc).__name__}: {exc}")


def _media_table(rows: list[dict[str, Any]]) -> pa.Table:
    """Media rows as a table, built column by column (``from_pylist`` walks every dict
    holding the GIL, which the decoding threads then wait for)."""
    cols = {
        name: _binary_column([r["bytes"] for r in rows])
        if name == "bytes"
        else pa.array([r.get(name) for r in rows], f.type)
        for name, f in _MEDIA_FIELDS
    }
    return pa.table(cols, schema=schema.MEDIA)


def _binary_column(values: list[bytes | None]) -> pa.Array:
    """A large_binary column from one joined buffer and its offsets: one copy of the bytes
    and no per-item builder calls (``pa.array`` over a batch of images held the GIL about
    5x longer, on the thread every decoding thread waits for)."""
    sizes = np.fromiter((len(v) if v is not None else 0 for v in values), np.int64, len(values))
    offsets = np.zeros(len(values) + 1, np.int64)
    np.cumsum(sizes, out=offsets[1:])
    valid = None
    if any(v is None for v in values):
        mask = np.fromiter((v is not None for v in values), np.bool_, len(values))
        valid = pa.array(mask).buffers()[1]
    data = pa.py_buffer(b"".join(v for v in values if v is not None))
    return pa.Array.from_buffers(
        pa.large_binary(), len(values), [valid, pa.py_buffer(offsets), data]
    )


_MEDIA_FIELDS = [(f.name, f) for f in schema.MEDIA]


def _item_bytes(item: RawSample | Failure) -> int:
    if isinstance(item, Failure):
        return 0
    return sum(
        len(s.data) if s.data is not None else s.size or 0
        for s in item.slots
        if isinstance(s, ImageInput)
    )


def run_ingest(
    corpus: Corpus,
    reader: Reader,
    opts: IngestOptions,
    *,
    fetcher: Any = None,
    params: dict[str, Any] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> IngestReport:
    """Drive ``reader`` through the loop; see :func:`plait.ingest.ingest`."""
    report = IngestReport(dataset=reader.dataset)
    with Run(corpus, "ingest", params or {}, background=True) as run:
        report.run_id = run.run_id
        loop = _Loop(corpus, reader, run, opts, fetcher, report)
        run.begin()  # the run's row is written while the first images decode
        pipe = _Pipeline(loop, on_progress)
        try:
            batch: list[RawSample | Failure] = []
            nbytes = 0
            # the first batch is small, so images start decoding after a few are read
            size = min(opts.batch_size, _FIRST_BATCH)
            # parsing runs ahead in a thread while the previous batch is written
            items = read_ahead(
                _sized(_guarded(reader, report)), opts.batch_size, "plait-ingest-read", 64
            )
            for item in items:
                batch.append(item)
                nbytes += _item_bytes(item)
                if len(batch) >= size or nbytes >= opts.max_batch_bytes:
                    pipe.add(batch)
                    batch, nbytes, size = [], 0, opts.batch_size
            if batch:
                pipe.add(batch)
            pipe.finish()
        finally:
            pipe.close()
            loop.pool.shutdown(wait=False, cancel_futures=True)
            run.counts.update(report.to_dict())
        # Sample and quarantine rows are small, so their per-batch fragments are worth
        # merging; a media fragment is a batch of whole images (megabytes), already a fine
        # size, and rewriting it would cost a full read of the media bytes.
        corpus.compact("samples")
        corpus.compact("quarantine", drop_old_versions=True)
        corpus.compact("media", drop_old_versions=True, min_fragments=1024)
        report.seconds = run.elapsed
        run.counts.update(report.to_dict())
        if report.added + report.skipped + report.completed == 0:
            run.status = "failed"
            source = str(getattr(reader, "dataset", reader))
            raise NothingReadError(nothing_read(source, report.quarantined, report.examples))
    return report


_FIRST_BATCH = 64


class _Pipeline:
    """Batches through the loop, three stages at once: the images of the next two batches
    load in the pool while this thread builds one batch's rows and the writer thread
    stores the one before. With one batch ahead and the write on this thread, a commit
    that outlasted the next batch's decoding (a slow write) left the decoding threads
    with nothing to do; Lance writes without the GIL, so the build overlaps it."""

    IN_FLIGHT = 2  # batches whose images load while an earlier one is built

    def __init__(self, loop: _Loop, on_progress: Callable[[int], None] | None) -> None:
        self.loop, self.on_progress = loop, on_progress
        self.pending: deque[_Prepared] = deque()
        self.writer = ThreadPoolExecutor(1, thread_name_prefix="plait-ingest-write")
        self.writing: tuple[Future[_Stored], int] | None = None

    def add(self, batch: list[RawSample | Failure]) -> None:
        prep = self.loop.prepare(batch)
        prep.size = len(batch)
        self.pending.append(prep)
        if len(self.pending) > self.IN_FLIGHT:
            self._commit(self.pending.popleft())

    def finish(self) -> None:
        while self.pending:
            self._commit(self.pending.popleft())
        self._wait()

    def close(self) -> None:
        self.writer.shutdown(wait=True)  # a write under way completes: it is one commit

    def _commit(self, prep: _Prepared) -> None:
        built = self.loop.build(prep)
        self._wait()  # one batch written at a time, in order
        self.writing = (self.writer.submit(self.loop.store, built), built.size)

    def _wait(self) -> None:
        if self.writing is None:
            return
        fut, size = self.writing
        self.writing = None
        self.loop.apply(fut.result())
        if self.on_progress:
            self.on_progress(size)


def _sized(items: Iterable[RawSample | Failure]) -> Iterator[RawSample | Failure]:
    """``items`` with the size of every image still to be read from a path, so batches of
    large files are cut by bytes too (``max_batch_bytes``), not only by count. Runs in
    the read-ahead thread; a file that cannot be stat-ed is the loader's to name."""
    for item in items:
        if isinstance(item, RawSample):
            for s in item.slots:
                if isinstance(s, ImageInput) and s.data is None and s.path and s.size is None:
                    with contextlib.suppress(OSError):
                        s.size = os.stat(s.path).st_size
        yield item


def _guarded(reader: Iterable[RawSample | Failure], report: IngestReport):
    """Iterate a reader; if the reader itself breaks, record it instead of dying."""
    it = iter(reader)
    while True:
        try:
            item = next(it)
        except StopIteration:
            return
        except InputError as exc:
            yield Failure(exc.location or str(getattr(reader, "dataset", "")), exc.reason, str(exc))
            return
        yield item

"""The one commit of a curate run: drops into ``rejected``, survivors into ``samples``.

Crash-safe by construction, so a rerun after a crash at any point finishes
the job without duplicating anything:

1. ``rejected``: appended in one Lance commit, skipped if rows of this run id
   are already there.
2. ``samples``: one overwrite commit of (rows the run did not process) + (rows
   it kept, with their new stats). Recomputing it from an already committed
   table gives the same table, so repeating the step is harmless.
3. the ``runs`` row (written by the caller) marks the run as done.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from plait import schema
from plait.executors.base import ROW, Outcome
from plait.io.corpus import Corpus, sql_str


@dataclass
class CommitResult:
    rejected_written: int
    rejected_skipped: bool
    samples_before: int
    samples_after: int
    version_before: int | None
    version_after: int | None


def commit(corpus: Corpus, run_id: str, outcome: Outcome) -> CommitResult:
    dropped = (
        outcome.dropped.drop_columns([ROW])
        if ROW in outcome.dropped.column_names
        else outcome.dropped
    )
    already = (
        corpus.count("rejected", where=f"rejected_by = {sql_str(run_id)}")
        if corpus.has("rejected")
        else 0
    )
    if dropped.num_rows and not already:
        corpus.append("rejected", dropped)
    kept = outcome.kept.drop_columns([ROW]) if ROW in outcome.kept.column_names else outcome.kept
    processed = pa.chunked_array(
        [kept.column("id").combine_chunks(), outcome.dropped.column("id").combine_chunks()],
        type=pa.string(),
    ).combine_chunks()
    ds = corpus.dataset("samples")
    before = ds.count_rows() if ds is not None else 0
    version_before = ds.version if ds is not None else None
    if ds is None and kept.num_rows == 0:
        return CommitResult(dropped.num_rows, bool(already), 0, 0, None, None)

    def batches() -> Iterator[pa.RecordBatch]:
        if ds is not None:
            for b in ds.to_batches(columns=schema.SAMPLES.names, batch_size=4096):
                untouched = b.filter(pc.invert(pc.is_in(b.column("id"), value_set=processed)))
                if untouched.num_rows:
                    yield untouched
        yield from kept.cast(schema.SAMPLES).to_batches(max_chunksize=4096)

    import lance

    reader = pa.RecordBatchReader.from_batches(schema.SAMPLES, batches())
    out = lance.write_dataset(
        reader, str(corpus.table_path("samples")), schema=schema.SAMPLES, mode="overwrite"
    )
    return CommitResult(
        dropped.num_rows, bool(already), before, out.count_rows(), version_before, out.version
    )

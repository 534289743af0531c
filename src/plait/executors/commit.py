"""The one commit of a curate run: replaced versions into ``replaced``, drops into
``rejected``, survivors into ``samples``.

Crash-safe by construction, so a rerun after a crash at any point finishes
the job without duplicating anything:

1. ``replaced``: the snapshot version of every sample a mapper changed (read back
   from the pinned snapshot, so it is the version before this run), appended in one
   commit, skipped if rows of this run id are already there.
2. ``rejected``: inserted in one Lance commit, keyed by (sample id, run id), so a
   repeat stores nothing twice.
3. ``samples``: one commit that replaces the fragments the run read with (rows
   the run did not process) + (rows it kept, with their new stats). Recomputing
   it from an already committed table gives the same table, so repeating the
   step is harmless. Samples another command appends meanwhile are kept (they
   were not in this run's snapshot, so a later run curates them); a sample that
   a concurrent commit removed stays removed.
4. the ``runs`` row (written by the caller) marks the run as done.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from plait import schema
from plait.executors.base import CHANGED, ROW
from plait.executors.changes import describe_change
from plait.executors.plan import Outcome
from plait.io.corpus import Corpus, sql_in, sql_str

_INTERNAL = [ROW, CHANGED]


@dataclass
class CommitResult:
    rejected_written: int
    rejected_skipped: bool
    replaced_written: int
    samples_before: int
    samples_after: int
    version_before: int | None
    version_after: int | None


def _strip(table: pa.Table) -> pa.Table:
    return table.drop_columns([c for c in _INTERNAL if c in table.column_names])


def commit(
    corpus: Corpus, run_id: str, outcome: Outcome, snapshot: int | None = None
) -> CommitResult:
    """Write the run's result; ``snapshot`` is the samples version the run read."""
    replaced = 0
    if not _written(corpus, "replaced", f"replaced_by = {sql_str(run_id)}"):
        rows = replaced_rows(corpus, run_id, outcome, snapshot)
        corpus.append("replaced", rows)
        replaced = rows.num_rows
    dropped = _strip(outcome.dropped)
    already = _written(corpus, "rejected", f"rejected_by = {sql_str(run_id)}")
    if dropped.num_rows and not already:
        corpus.append("rejected", dropped)
    kept = _strip(outcome.kept)
    processed = pa.chunked_array(
        [kept.column("id").combine_chunks(), outcome.dropped.column("id").combine_chunks()],
        type=pa.string(),
    ).combine_chunks()
    ds = corpus.dataset("samples")
    before = ds.count_rows() if ds is not None else 0
    version_before = ds.version if ds is not None else None
    if ds is None:
        if kept.num_rows == 0:
            return CommitResult(dropped.num_rows, bool(already), replaced, 0, 0, None, None)
        corpus.append("samples", kept)
        out = corpus.dataset("samples")
        assert out is not None
        return CommitResult(
            dropped.num_rows, bool(already), replaced, 0, out.count_rows(), None, out.version
        )

    def merged(current: Any) -> Iterator[pa.RecordBatch]:
        still: list[pa.Array] = []  # processed ids still present (a concurrent writer may
        for b in current.to_batches(columns=schema.SAMPLES.names, batch_size=4096):
            mine = pc.is_in(b.column("id"), value_set=processed)  # have dropped some)
            untouched = b.filter(pc.invert(mine))
            if untouched.num_rows:
                yield untouched
            still.append(b.column("id").filter(mine))
        present = pa.concat_arrays(still) if still else pa.array([], pa.string())
        back = kept.filter(pc.is_in(kept.column("id"), value_set=present))
        yield from back.cast(schema.SAMPLES).to_batches(max_chunksize=4096)

    out = corpus.replace("samples", merged)
    return CommitResult(
        dropped.num_rows,
        bool(already),
        replaced,
        before,
        out.count_rows(),
        version_before,
        out.version,
    )


def _written(corpus: Corpus, table: str, where: str) -> bool:
    return corpus.has(table) and corpus.count(table, where=where) > 0


def replaced_rows(corpus: Corpus, run_id: str, outcome: Outcome, snapshot: int | None) -> pa.Table:
    """``replaced`` rows: the snapshot version of each sample whose content a step
    changed, with the steps, the change in words and the run."""
    final: dict[str, tuple[str, dict]] = {}
    for table in (outcome.kept, outcome.dropped):
        if CHANGED not in table.column_names:
            continue
        changed = table.filter(pc.is_valid(table.column(CHANGED)))
        for row in changed.select([*schema.SAMPLES.names, CHANGED]).to_pylist():
            final[row["id"]] = (row.pop(CHANGED), row)
    if not final:
        return schema.REPLACED.empty_table()
    import lance

    ds = lance.dataset(str(corpus.table_path("samples")), version=snapshot)
    ids = list(final)
    at = schema.now()
    out = []
    for i in range(0, len(ids), 1000):
        old = ds.to_table(columns=schema.SAMPLES.names, filter=sql_in("id", ids[i : i + 1000]))
        for row in old.to_pylist():
            ops, new = final[row["id"]]
            out.append(
                {
                    **row,
                    "op": ops.replace(",", ", "),
                    "change": describe_change(row, new),
                    "replaced_by": run_id,
                    "replaced_at": at,
                    "restored_by": None,
                }
            )
    return pa.Table.from_pylist(out, schema=schema.REPLACED)

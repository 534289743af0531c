"""What every executor shares: the plan, the stages, and the per-batch work.

A recipe runs as stages: consecutive Filter/Mapper steps are fused (each
sample goes through all of them in one pass over a shard), and each
Deduplicator is a barrier (fingerprints per shard, one global resolve in the
driver). Executors differ only in where the per-shard work runs; the functions
here are that work, so the local and Ray executors give the same samples, the
same stats and the same drops.

Internal tables are ``samples`` rows plus ``_row`` (the row's position in the
input snapshot, which orders dedup and the commit) and, for drops, the
``rejected`` columns.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.compute as pc

from plait import schema
from plait.ops.base import Deduplicator, Op, OpContext
from plait.recipe import Recipe, Step

ROW = "_row"
KEPT_SCHEMA = schema.SAMPLES.append(pa.field(ROW, pa.int64()))
DROPPED_SCHEMA = schema.REJECTED.append(pa.field(ROW, pa.int64()))


@dataclass(frozen=True)
class Stage:
    """Fused Filter/Mapper steps, or one Deduplicator step."""

    steps: tuple[Step, ...]

    @property
    def is_dedup(self) -> bool:
        return self.steps[0].kind == "dedup"

    @property
    def label(self) -> str:
        return " + ".join(s.op for s in self.steps)


def stages(recipe: Recipe) -> list[Stage]:
    out: list[Stage] = []
    run: list[Step] = []
    for step in recipe.steps:
        if step.kind == "dedup":
            if run:
                out.append(Stage(tuple(run)))
                run = []
            out.append(Stage((step,)))
        else:
            run.append(step)
    if run:
        out.append(Stage(tuple(run)))
    return out


@dataclass
class Plan:
    """Everything a run needs, fixed when it starts (and saved for a resume)."""

    run_id: str
    corpus_path: str
    recipe: Recipe
    snapshot: int  # the samples version the run reads
    total: int  # samples in the snapshot
    shard_size: int
    workers: int
    batch_size: int = 256

    @property
    def shards(self) -> list[tuple[int, int]]:
        """(offset, length) of each shard of the snapshot."""
        n = self.total
        return [(o, min(self.shard_size, n - o)) for o in range(0, n, self.shard_size)]

    @property
    def stages(self) -> list[Stage]:
        return stages(self.recipe)


@dataclass
class StepCounts:
    """What one step did: samples in, kept, dropped by reason code, and seconds."""

    seen: int = 0
    kept: int = 0
    dropped: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    stats_keys: set[str] = field(default_factory=set)

    def merge(self, other: StepCounts) -> None:
        self.seen += other.seen
        self.kept += other.kept
        self.dropped.update(other.dropped)
        self.seconds += other.seconds
        self.stats_keys |= other.stats_keys

    def to_dict(self) -> dict[str, Any]:
        return {
            "in": self.seen,
            "kept": self.kept,
            "dropped": dict(self.dropped),
            "seconds": round(self.seconds, 4),
            "stats_keys": sorted(self.stats_keys),
        }


@dataclass
class Outcome:
    """What an executor hands to the commit: final kept rows, every drop, per-step counts."""

    kept: pa.Table  # KEPT_SCHEMA, ordered by _row
    dropped: pa.Table  # DROPPED_SCHEMA
    counts: dict[str, StepCounts]  # by Step.key
    reused: int = 0  # shard results found from an earlier, interrupted attempt


class Executor(Protocol):
    name: str

    def run(self, plan: Plan, *, progress: Any = None) -> Outcome: ...


_DUP_TAIL = re.compile(r"\s*(?::|\bof\b|\bas\b|=)\s*\S.*$")


def reason_code(reason: str) -> str:
    """The reason without the sample it names ("duplicate of X" -> "duplicate"), for counts."""
    return _DUP_TAIL.sub("", reason).strip() or reason


def context(plan_run_id: str, corpus_path: str) -> OpContext:
    from plait.io.corpus import Corpus

    corpus = Corpus(corpus_path)
    return OpContext(run_id=plan_run_id, media=corpus.media_many, corpus_path=corpus_path)


def read_shard(plan: Plan, shard: int) -> pa.Table:
    """Rows ``[offset, offset + length)`` of the pinned snapshot, with their ``_row``."""
    import lance

    offset, length = plan.shards[shard]
    ds = lance.dataset(str(Path(plan.corpus_path) / "samples.lance"), version=plan.snapshot)
    t = ds.to_table(columns=schema.SAMPLES.names, offset=offset, limit=length)
    return t.append_column(ROW, pa.array(range(offset, offset + t.num_rows), pa.int64()))


def to_samples(table: pa.Table) -> tuple[list[schema.Sample], list[int]]:
    rows = table.to_pylist()
    return [schema.Sample.from_row(r) for r in rows], [r[ROW] for r in rows]


def kept_table(samples: Sequence[schema.Sample], rows: Sequence[int]) -> pa.Table:
    data = [{**s.to_row(), ROW: r} for s, r in zip(samples, rows, strict=True)]
    return pa.Table.from_pylist(data, schema=KEPT_SCHEMA)


def dropped_table(items: Sequence[tuple[schema.Sample, int, str, str]], run_id: str) -> pa.Table:
    at = schema.now()
    data = [
        {**s.to_row(), "op": op, "reason": reason, "rejected_by": run_id, "rejected_at": at, ROW: r}
        for s, r, op, reason in items
    ]
    return pa.Table.from_pylist(data, schema=DROPPED_SCHEMA)


def run_fused(
    steps: Sequence[tuple[Step, Op]], table: pa.Table, ctx: OpContext, batch_size: int
) -> tuple[pa.Table, pa.Table, dict[str, StepCounts]]:
    """Every Filter/Mapper of a stage over one shard, batch by batch."""
    samples, rows = to_samples(table)
    row_of = {id(s): r for s, r in zip(samples, rows, strict=True)}
    counts = {step.key: StepCounts() for step, _ in steps}
    kept: list[schema.Sample] = []
    dropped: list[tuple[schema.Sample, int, str, str]] = []
    for start in range(0, len(samples), batch_size):
        cur = samples[start : start + batch_size]
        for step, op in steps:
            if not cur:
                break
            before = {id(s): set(s.stats) for s in cur}
            t0 = time.perf_counter()
            res = op.process(cur, ctx)
            c = counts[step.key]
            c.seconds += time.perf_counter() - t0
            c.seen += len(cur)
            c.kept += len(res.kept)
            for s in res.kept:  # a mapper may return new objects: carry the row over
                row_of.setdefault(id(s), row_of.get(id(_same(cur, s)), -1))
            for s in [*res.kept, *(r.sample for r in res.rejected)]:
                c.stats_keys |= set(s.stats) - before.get(id(s), set())
            for rej in res.rejected:
                c.dropped[reason_code(rej.reason)] += 1
                dropped.append((rej.sample, row_of[id(rej.sample)], rej.op or step.op, rej.reason))
            cur = res.kept
        kept.extend(cur)
    return (
        kept_table(kept, [row_of[id(s)] for s in kept]),
        dropped_table(dropped, ctx.run_id),
        counts,
    )


def _same(batch: Sequence[schema.Sample], sample: schema.Sample) -> schema.Sample:
    """The input sample a mapper's output stands for (matched by id)."""
    for s in batch:
        if s.id == sample.id:
            return s
    return sample


def fingerprint(
    op: Deduplicator, table: pa.Table, ctx: OpContext, batch_size: int
) -> list[tuple[int, str, Any]]:
    """(row, id, fingerprint) for every sample of one shard."""
    samples, rows = to_samples(table)
    out: list[tuple[int, str, Any]] = []
    for start in range(0, len(samples), batch_size):
        batch = samples[start : start + batch_size]
        fps = op.fingerprint(batch, ctx)
        out.extend(zip(rows[start : start + batch_size], (s.id for s in batch), fps, strict=True))
    return out


def resolve(op: Deduplicator, items: list[tuple[int, str, Any]]) -> dict[str, str]:
    """One global resolve over the whole corpus, in snapshot order."""
    items = sorted(items, key=lambda t: t[0])
    return op.resolve([(sid, fp) for _, sid, fp in items if fp is not None])


def split_dropped(
    table: pa.Table, drops: dict[str, str], step: Step, run_id: str, op_name: str = ""
) -> tuple[pa.Table, pa.Table, StepCounts]:
    """Apply a resolved dedup to one shard's rows."""
    ids = table.column("id").to_pylist()
    mask = pa.array([i not in drops for i in ids], type=pa.bool_())
    kept = table.filter(mask)
    gone = table.filter(pc.invert(mask))
    samples, rows = to_samples(gone)
    name = op_name or step.op
    dropped = dropped_table(
        [(s, r, name, drops[s.id]) for s, r in zip(samples, rows, strict=True)], run_id
    )
    c = StepCounts(seen=table.num_rows, kept=kept.num_rows)
    c.dropped.update(reason_code(drops[s.id]) for s in samples)
    return kept, dropped, c


def concat(tables: list[pa.Table], sch: pa.Schema) -> pa.Table:
    tables = [t for t in tables if t.num_rows]
    if not tables:
        return sch.empty_table()
    out = pa.concat_tables(tables)
    return out.sort_by(ROW) if ROW in out.column_names else out

"""What every executor shares: the per-shard and per-batch work.

Executors run the stages of a :class:`~plait.executors.plan.Plan` and differ only
in where the per-shard work runs; the functions here are that work, so the local
and Ray executors give the same samples, the same stats and the same drops.

Internal tables are ``samples`` rows plus ``_row`` (the row's position in the
input snapshot, which orders dedup and the commit), ``_changed`` (the steps that
changed the sample's content in this run, so the commit keeps the version they
replaced) and, for drops, the ``rejected`` columns. Shards and batches never split
a family (:mod:`plait.executors.families`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from plait import schema
from plait.executors.changes import content_key
from plait.executors.families import cascade, family_bounds
from plait.executors.plan import Plan, StepCounts
from plait.io.store import location
from plait.ops.base import Deduplicator, Mapper, Op, OpContext, Rejection, flag
from plait.recipe import Step

ROW = "_row"
CHANGED = "_changed"
_EXTRA = [pa.field(ROW, pa.int64()), pa.field(CHANGED, pa.string())]
KEPT_SCHEMA = pa.schema(list(schema.SAMPLES) + _EXTRA)
DROPPED_SCHEMA = pa.schema(list(schema.REJECTED) + _EXTRA)


_DUP_TAIL = re.compile(r"\s*(?::|\bof\b|\bas\b|=)\s*\S.*$")


def reason_code(reason: str) -> str:
    """The reason without the sample it names ("duplicate of X" -> "duplicate"), for counts."""
    return _DUP_TAIL.sub("", reason).strip() or reason


def context(plan_run_id: str, corpus_path: str) -> OpContext:
    from plait.io.corpus import Corpus

    corpus = Corpus(corpus_path)
    return OpContext(run_id=plan_run_id, media=corpus.media_many, corpus_path=corpus_path)


def read_shard(plan: Plan, shard: int) -> pa.Table:
    """One shard of the pinned snapshot (rows ``[offset, offset + length)``, of
    ``plan.order`` when set), with each row's ``_row``."""
    import lance

    offset, length = plan.shards[shard]
    ds = lance.dataset(str(location(plan.corpus_path) / "samples.lance"), version=plan.snapshot)
    if plan.order is not None:
        rows = plan.order[offset : offset + length]
        t = ds.take(rows, columns=schema.SAMPLES.names)
        rowcol = pa.array(rows, pa.int64())
    else:
        t = ds.to_table(columns=schema.SAMPLES.names, offset=offset, limit=length)
        rowcol = pa.array(range(offset, offset + t.num_rows), pa.int64())
    return t.append_column(ROW, rowcol).append_column(CHANGED, pa.nulls(t.num_rows, pa.string()))


@dataclass(slots=True)
class _Tag:
    """What travels with a sample through a shard: its snapshot row and changing steps."""

    row: int
    changed: list[str]


def to_samples(table: pa.Table) -> tuple[list[schema.Sample], list[_Tag]]:
    rows = table.to_pylist()
    return [schema.Sample.from_row(r) for r in rows], [
        _Tag(r[ROW], r[CHANGED].split(",") if r.get(CHANGED) else []) for r in rows
    ]


def _changed(tag: _Tag) -> str | None:
    return ",".join(tag.changed) if tag.changed else None


def kept_table(samples: Sequence[schema.Sample], tags: Sequence[_Tag]) -> pa.Table:
    data = [
        {**s.to_row(), ROW: t.row, CHANGED: _changed(t)} for s, t in zip(samples, tags, strict=True)
    ]
    return pa.Table.from_pylist(data, schema=KEPT_SCHEMA)


def dropped_table(items: Sequence[tuple[schema.Sample, _Tag, str, str]], run_id: str) -> pa.Table:
    at = schema.now()
    data = [
        {
            **s.to_row(),
            "op": op,
            "reason": reason,
            "rejected_by": run_id,
            "rejected_at": at,
            ROW: t.row,
            CHANGED: _changed(t),
        }
        for s, t, op, reason in items
    ]
    return pa.Table.from_pylist(data, schema=DROPPED_SCHEMA)


def batches(samples: Sequence[schema.Sample], size: int) -> list[tuple[int, int]]:
    """Batch cuts of about ``size`` that keep each family in one batch."""
    return family_bounds([s.id for s in samples], [s.parent for s in samples], size)


def run_fused(
    steps: Sequence[tuple[Step, Op]], table: pa.Table, ctx: OpContext, batch_size: int
) -> tuple[pa.Table, pa.Table, dict[str, StepCounts]]:
    """Every Filter/Mapper of a stage over one shard, batch by batch.

    Per step it notes which samples a mapper changed (their tag names the step), flags
    annotate-mode would-be drops, and drops the children of every parent it drops.
    """
    samples, tags = to_samples(table)
    tag_of = {id(s): t for s, t in zip(samples, tags, strict=True)}
    counts = {step.key: StepCounts() for step, _ in steps}
    kept: list[schema.Sample] = []
    dropped: list[tuple[schema.Sample, _Tag, str, str]] = []
    for start, end in batches(samples, batch_size):
        cur = samples[start:end]
        for step, op in steps:
            if not cur:
                break
            watch = isinstance(op, Mapper)
            before = {s.id: (set(s.stats), content_key(s) if watch else None) for s in cur}
            by_id = {s.id: s for s in cur}
            t0 = time.perf_counter()
            res = op.process(cur, ctx)
            c = counts[step.key]
            c.seconds += time.perf_counter() - t0
            c.seen += len(cur)
            for s in [*res.kept, *(r.sample for r in res.rejected)]:
                if id(s) not in tag_of:  # a mapper may return new objects: carry the tag over
                    old = by_id.get(s.id)
                    tag_of[id(s)] = tag_of[id(old)] if old is not None else _Tag(-1, [])
                keys, key = before.get(s.id, (set(), None))
                c.stats_keys |= set(s.stats) - keys
                if watch and content_key(s) != key:
                    c.changed += 1
                    tag = tag_of[id(s)]
                    name = op.name or step.op
                    if name not in tag.changed:
                        tag.changed.append(name)
            c.events.update(res.counts)
            flagged = {r.sample.id: r.reason for r in res.flagged}
            if flagged and any(s.parent for s in res.kept):  # the pages would go too
                ids, parents = [s.id for s in res.kept], [s.parent for s in res.kept]
                more = cascade(ids, parents, flagged)
                for s in res.kept:
                    if s.id in more:
                        flag(s, res.flagged[0].op or step.op, more[s.id])
                flagged.update(more)
            c.flagged.update(reason_code(r) for r in flagged.values())
            rejected = list(res.rejected)
            now_kept = res.kept
            if rejected and any(s.parent for s in now_kept):
                gone = {r.sample.id: r.reason for r in rejected}
                orphans = cascade([s.id for s in now_kept], [s.parent for s in now_kept], gone)
                if orphans:
                    op_name = rejected[0].op or step.op
                    rejected += [
                        Rejection(s, op_name, orphans[s.id]) for s in now_kept if s.id in orphans
                    ]
                    now_kept = [s for s in now_kept if s.id not in orphans]
            c.kept += len(now_kept)
            for rej in rejected:
                c.dropped[reason_code(rej.reason)] += 1
                dropped.append((rej.sample, tag_of[id(rej.sample)], rej.op or step.op, rej.reason))
            cur = now_kept
        kept.extend(cur)
    return (
        kept_table(kept, [tag_of[id(s)] for s in kept]),
        dropped_table(dropped, ctx.run_id),
        counts,
    )


def fingerprint(
    op: Op, table: pa.Table, ctx: OpContext, batch_size: int
) -> list[tuple[int, str, Any]]:
    """(row, id, fingerprint) for every sample of one shard (``op``: a dedup step's)."""
    assert isinstance(op, Deduplicator), f"{op.name} is not a deduplicator"
    samples, tags = to_samples(table)
    out: list[tuple[int, str, Any]] = []
    for start in range(0, len(samples), batch_size):
        batch = samples[start : start + batch_size]
        fps = op.fingerprint(batch, ctx)
        rows = (t.row for t in tags[start : start + batch_size])
        out.extend(zip(rows, (s.id for s in batch), fps, strict=True))
    return out


def resolve(op: Deduplicator, items: list[tuple[int, str, Any]]) -> dict[str, str]:
    """One global resolve over the whole corpus, in snapshot order."""
    items = sorted(items, key=lambda t: t[0])
    return op.resolve([(sid, fp) for _, sid, fp in items if fp is not None])


def split_dropped(
    table: pa.Table,
    drops: dict[str, str],
    step: Step,
    run_id: str,
    op_name: str = "",
    *,
    stats: dict[str, dict[str, Any]] | None = None,
    annotate: bool = False,
) -> tuple[pa.Table, pa.Table, StepCounts]:
    """Apply a resolved dedup to one shard's rows: ``stats`` (the op's ``describe`` of
    each fingerprint) are written first; the children of a dropped parent go with it;
    in annotate mode every would-be drop is kept and flagged instead."""
    name = op_name or step.op
    ids = table.column("id").to_pylist()
    mine = {i: drops[i] for i in ids if i in drops}
    if mine:
        mine.update(cascade(ids, table.column("parent").to_pylist(), mine))
    c = StepCounts(seen=table.num_rows)
    stats = {i: stats[i] for i in ids if i in stats} if stats else {}
    if stats or (annotate and mine):
        samples, tags = to_samples(table)
        for s in samples:
            s.stats.update(stats.get(s.id, {}))
            c.stats_keys |= set(stats.get(s.id, {}))
            if annotate and s.id in mine:
                flag(s, name, mine[s.id])
        if annotate:
            c.kept = len(samples)
            c.flagged.update(reason_code(r) for r in mine.values())
            return kept_table(samples, tags), DROPPED_SCHEMA.empty_table(), c
        keep = [i for i, s in enumerate(samples) if s.id not in mine]
        gone = [i for i, s in enumerate(samples) if s.id in mine]
        kept = kept_table([samples[i] for i in keep], [tags[i] for i in keep])
        dropped = dropped_table(
            [(samples[i], tags[i], name, mine[samples[i].id]) for i in gone], run_id
        )
    else:
        if annotate:
            c.kept = table.num_rows
            return table, DROPPED_SCHEMA.empty_table(), c
        mask = pa.array([i not in mine for i in ids], type=pa.bool_())
        kept = table.filter(mask)
        samples, tags = to_samples(table.filter(pc.invert(mask)))
        dropped = dropped_table(
            [(s, t, name, mine[s.id]) for s, t in zip(samples, tags, strict=True)], run_id
        )
    c.kept = kept.num_rows
    c.dropped.update(reason_code(r) for r in mine.values())
    return kept, dropped, c


def concat(tables: list[pa.Table], sch: pa.Schema) -> pa.Table:
    tables = [t for t in tables if t.num_rows]
    if not tables:
        return sch.empty_table()
    out = pa.concat_tables(tables)
    return out.sort_by(ROW) if ROW in out.column_names else out

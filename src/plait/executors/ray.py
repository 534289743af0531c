"""The Ray executor: the same stages on Ray Data.

Each shard of the pinned snapshot becomes one block. A fused stage runs as
``map_batches`` tasks, or, when any of its operators ``uses_model``, as a pool
of actors so the model loads once per actor (``setup`` in the constructor).
A Deduplicator fingerprints blocks in tasks and resolves once in the driver.
The per-batch work is :mod:`plait.executors.base`, shared with the local
executor, so both give the same samples, stats and drops.

A stage's output holds every input row: kept rows have a null ``op``, and
the first row of each batch carries that batch's step counts as JSON.
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from plait._deps import require
from plait.executors import base
from plait.executors.families import family_bounds
from plait.executors.plan import Outcome, Plan, StepCounts
from plait.ops.base import ANNOTATE, Deduplicator

COUNTS = "_counts"
# Kept and dropped rows travel in one table between stages: the drop columns are null for
# kept rows, so every field may be null here (DROPPED_SCHEMA's are not, for the commit).
_ROWS_SCHEMA = pa.schema([f.with_nullable(True) for f in base.DROPPED_SCHEMA])
STAGE_SCHEMA = _ROWS_SCHEMA.append(pa.field(COUNTS, pa.string()))


def _stage_table(kept: pa.Table, dropped: pa.Table, counts: dict[str, StepCounts]) -> pa.Table:
    rows = kept.num_rows + dropped.num_rows
    blob = json.dumps({k: c.to_dict() for k, c in counts.items()})
    merged = pa.concat_tables(
        [
            kept.append_column("op", pa.nulls(kept.num_rows, pa.string()))
            .append_column("reason", pa.nulls(kept.num_rows, pa.string()))
            .append_column("rejected_by", pa.nulls(kept.num_rows, pa.string()))
            .append_column("rejected_at", pa.nulls(kept.num_rows, pa.timestamp("us", tz="UTC")))
            .select(_ROWS_SCHEMA.names)
            .cast(_ROWS_SCHEMA),
            dropped.cast(_ROWS_SCHEMA),
        ]
    )
    marks = pa.array([blob] + [None] * (rows - 1) if rows else [], pa.string())
    return merged.append_column(COUNTS, marks)


class _FusedStage:
    """A fused stage; as an actor it builds and sets up its operators once."""

    def __init__(self, plan: Plan, stage: int) -> None:
        self.plan = plan
        self.steps = []
        for step in plan.stages[stage].steps:
            op = step.build()
            op.setup()
            self.steps.append((step, op))
        self.ctx = base.context(plan.run_id, plan.corpus_path)

    def __call__(self, batch: pa.Table) -> pa.Table:
        kept, dropped, counts = base.run_fused(
            self.steps, batch.cast(base.KEPT_SCHEMA), self.ctx, self.plan.batch_size
        )
        return _stage_table(kept, dropped, counts)


def _fused_task(batch: pa.Table, plan: Plan, stage: int) -> pa.Table:
    return _FusedStage(plan, stage)(batch)


def _fingerprint_task(batch: pa.Table, plan: Plan, stage: int) -> pa.Table:
    step = plan.stages[stage].steps[0]
    op = step.build()
    op.setup()
    items = base.fingerprint(
        op,
        batch.cast(base.KEPT_SCHEMA),
        base.context(plan.run_id, plan.corpus_path),
        plan.batch_size,
    )
    return pa.table(
        {
            "row": pa.array([r for r, _, _ in items], pa.int64()),
            "id": pa.array([i for _, i, _ in items], pa.string()),
            "fp": pa.array([pickle.dumps(f) for _, _, f in items], pa.binary()),
        }
    )


def _drop_task(
    batch: pa.Table,
    plan: Plan,
    stage: int,
    drops: dict[str, str],
    op_name: str,
    stats: dict[str, dict[str, Any]],
    annotate: bool,
) -> pa.Table:
    step = plan.stages[stage].steps[0]
    kept, dropped, c = base.split_dropped(
        batch.cast(base.KEPT_SCHEMA),
        drops,
        step,
        plan.run_id,
        op_name,
        stats=stats,
        annotate=annotate,
    )
    return _stage_table(kept, dropped, {step.key: c})


class RayExecutor:
    """Runs on the Ray cluster this process is connected to, else starts a local one."""

    name = "ray"

    def run(self, plan: Plan, *, progress: Callable[[int], None] | None = None) -> Outcome:
        ray = require("ray", "ray", "the ray executor", package="ray[data]")
        started = not ray.is_initialized()
        if started:
            ray.init(num_cpus=plan.workers or None, include_dashboard=False, log_to_driver=False)
        try:
            return self._run(ray, plan, progress)
        finally:
            if started:
                ray.shutdown()

    def _run(self, ray: Any, plan: Plan, progress: Callable[[int], None] | None) -> Outcome:
        ray.data.DataContext.get_current().execution_options.preserve_order = True
        counts = {s.key: StepCounts() for s in plan.recipe.steps}
        if not plan.shards:
            return Outcome(
                base.KEPT_SCHEMA.empty_table(), base.DROPPED_SCHEMA.empty_table(), counts
            )
        ds = ray.data.from_arrow([base.read_shard(plan, i) for i in range(len(plan.shards))])
        workers = max(1, plan.workers)
        dropped: list[pa.Table] = []
        for k, stage in enumerate(plan.stages):
            if stage.is_dedup:
                out = self._dedup(ray, ds, plan, k)
            elif any(s.build().uses_model for s in stage.steps):
                out = ds.map_batches(
                    _FusedStage,
                    fn_constructor_args=(plan, k),
                    batch_format="pyarrow",
                    batch_size=None,
                    concurrency=workers,
                )
            else:
                out = ds.map_batches(
                    _fused_task, fn_args=(plan, k), batch_format="pyarrow", batch_size=None
                )
            table = _to_table(ray, out.materialize(), STAGE_SCHEMA)
            for blob in table.column(COUNTS).drop_null().to_pylist():
                for key, d in json.loads(blob).items():
                    counts[key].merge(StepCounts.from_dict(d))
            is_kept = pc.is_null(table.column("op"))
            dropped.append(
                table.filter(pc.invert(is_kept)).drop_columns([COUNTS]).cast(base.DROPPED_SCHEMA)
            )
            kept = table.filter(is_kept).select(base.KEPT_SCHEMA.names).cast(base.KEPT_SCHEMA)
            if progress:
                progress(plan.total)
            ds = ray.data.from_arrow(_blocks(kept, plan.shard_size))
        return Outcome(
            base.concat([kept], base.KEPT_SCHEMA), base.concat(dropped, base.DROPPED_SCHEMA), counts
        )

    def _dedup(self, ray: Any, ds: Any, plan: Plan, k: int) -> Any:
        step = plan.stages[k].steps[0]
        fps = _to_table(
            ray,
            ds.map_batches(
                _fingerprint_task, fn_args=(plan, k), batch_format="pyarrow", batch_size=None
            ),
            None,
        )
        if fps.num_rows == 0:
            return ds
        items = [
            (r, i, pickle.loads(f))
            for r, i, f in zip(
                fps.column("row").to_pylist(),
                fps.column("id").to_pylist(),
                fps.column("fp").to_pylist(),
                strict=True,
            )
        ]
        op = step.build()
        assert isinstance(op, Deduplicator), step.op
        op.setup()
        drops = base.resolve(op, items)
        described = {sid: op.describe(fp) for _, sid, fp in items if fp is not None}
        stats = {k: v for k, v in described.items() if v}
        return ds.map_batches(
            _drop_task,
            fn_args=(plan, k, drops, op.name, stats, op.mode == ANNOTATE),
            batch_format="pyarrow",
            batch_size=None,
        )


def _to_table(ray: Any, ds: Any, sch: pa.Schema | None) -> pa.Table:
    tables = [t for t in ray.get(ds.to_arrow_refs()) if t.num_rows]
    if not tables:
        return sch.empty_table() if sch is not None else pa.table({})
    return pa.concat_tables([t.cast(sch) if sch is not None else t for t in tables])


def _blocks(table: pa.Table, size: int) -> list[pa.Table]:
    """Blocks of about ``size`` rows that never split a family."""
    if table.num_rows == 0:
        return [table]
    cuts = family_bounds(table.column("id").to_pylist(), table.column("parent").to_pylist(), size)
    return [table.slice(a, b - a) for a, b in cuts]

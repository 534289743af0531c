"""The local executor: worker processes over shards, resumable after a crash.

Every shard of every stage writes its result under ``CORPUS/.work/RUN_ID/``
(parquet files, then a ``.done`` marker renamed into place last), so a run
killed at any moment restarts with the shards it had not finished. Workers are
spawned (never forked: Lance and torch hold threads) and build their operators
once, calling ``setup()`` on first use, so a model loads once per worker.
Nothing touches the corpus tables here: the driver commits once at the end.
Workers die with the driver, even when it is killed outright.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import pickle
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from plait.children import die_with_parent
from plait.errors import PlaitError
from plait.executors import base
from plait.executors.plan import Outcome, Plan, StepCounts
from plait.io.store import location, write_file
from plait.ops.base import ANNOTATE, Deduplicator, Op
from plait.recipe import Step

WORK = ".work"


def work_dir(corpus_path: str | Path, run_id: str) -> Any:
    """``CORPUS/.work/RUN_ID``: a Path, or an ObjectPath beside a corpus on object storage
    (every worker, on any machine, reaches it)."""
    return location(corpus_path) / WORK / run_id


class LocalExecutor:
    """Runs each stage's shards in a process pool (``workers=0``: in this process)."""

    name = "local"

    def run(self, plan: Plan, *, progress: Callable[[int], None] | None = None) -> Outcome:
        wd = work_dir(plan.corpus_path, plan.run_id)
        wd.mkdir(parents=True, exist_ok=True)
        pool = None
        reused = 0
        if plan.workers > 0:
            pool = ProcessPoolExecutor(
                max_workers=min(plan.workers, max(1, len(plan.shards))),
                mp_context=mp.get_context("spawn"),
                initializer=_init_worker,
                initargs=(plan, os.getpid()),
            )
        else:
            _init_worker(plan)
        try:
            for k, stage in enumerate(plan.stages):
                tasks = _fp_task if stage.is_dedup else _fused_task
                todo = [i for i in range(len(plan.shards)) if not _done(wd, k, i, stage.is_dedup)]
                reused += len(plan.shards) - len(todo)
                for i in range(len(plan.shards)):
                    if i not in todo and progress:
                        progress(plan.shards[i][1])
                _map(pool, tasks, [(k, i) for i in todo], plan, progress)
                if stage.is_dedup:
                    _apply_dedup(plan, wd, k)
        except BrokenProcessPool as exc:
            raise PlaitError(
                "a curate worker process died before it finished its shard (finished shards "
                "are kept; a rerun resumes). Calling curate() from a script: put the call under "
                '`if __name__ == "__main__":`, since each worker imports the script again, or '
                "pass workers=0 to run in this process. Otherwise the worker ran out of memory "
                "or was killed."
            ) from exc
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
        out = collect(plan, wd)
        out.reused = reused
        return out


def _map(
    pool: ProcessPoolExecutor | None,
    fn: Callable[..., int],
    args: list[tuple[int, int]],
    plan: Plan,
    progress: Callable[[int], None] | None,
) -> None:
    if pool is None:
        for a in args:
            n = fn(*a)
            if progress:
                progress(n)
        return
    pending = {pool.submit(fn, *a) for a in args}
    while pending:
        done, pending = wait(pending, return_when=FIRST_EXCEPTION)
        for fut in done:
            n = fut.result()  # re-raises a worker's error in the driver
            if progress:
                progress(n)


# -- files ------------------------------------------------------------------------------------
def _path(wd: Path, stage: int, shard: int, what: str) -> Path:
    return wd / f"s{stage:02d}" / f"{shard:06d}.{what}"


def _done(wd: Path, stage: int, shard: int, dedup: bool) -> bool:
    return _path(wd, stage, shard, "fp.pkl" if dedup else "done").exists()


def _atomic(path: Any, write: Callable[[str], object]) -> None:
    """Write ``path`` whole or not at all (a temporary file renamed, or one upload)."""
    write_file(path, write)


def _write_shard(
    wd: Path,
    stage: int,
    shard: int,
    kept: pa.Table,
    dropped: pa.Table,
    counts: dict[str, StepCounts],
) -> None:
    _atomic(_path(wd, stage, shard, "kept.parquet"), lambda p: pq.write_table(kept, p))
    _atomic(_path(wd, stage, shard, "dropped.parquet"), lambda p: pq.write_table(dropped, p))
    marker = json.dumps({k: c.to_dict() for k, c in counts.items()})
    _atomic(_path(wd, stage, shard, "done"), lambda p: Path(p).write_text(marker))


def _read_counts(path: Path) -> dict[str, StepCounts]:
    return {key: StepCounts.from_dict(d) for key, d in json.loads(path.read_text()).items()}


def _input(plan: Plan, wd: Path, stage: int, shard: int) -> pa.Table:
    if stage > 0:
        return pq.read_table(
            str(_path(wd, stage - 1, shard, "kept.parquet")), schema=base.KEPT_SCHEMA
        )
    return base.read_shard(plan, shard)


# -- worker side ------------------------------------------------------------------------------
_STATE: dict[str, Any] = {}


def _init_worker(plan: Plan, parent: int | None = None) -> None:
    if parent is not None:  # a pool worker: never outlive the driver
        die_with_parent(parent)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    _STATE.clear()
    _STATE.update(
        plan=plan,
        ops={},
        ctx=base.context(plan.run_id, plan.corpus_path),
        wd=work_dir(plan.corpus_path, plan.run_id),
    )


def _op(key: str) -> Op:
    ops: dict[str, Op] = _STATE["ops"]
    if key not in ops:
        step = next(s for s in _STATE["plan"].recipe.steps if s.key == key)
        op = step.build()
        op.setup()
        ops[key] = op
    return ops[key]


def _fused_task(stage: int, shard: int) -> int:
    plan: Plan = _STATE["plan"]
    wd: Path = _STATE["wd"]
    table = _input(plan, wd, stage, shard)
    steps = [(s, _op(s.key)) for s in plan.stages[stage].steps]
    kept, dropped, counts = base.run_fused(steps, table, _STATE["ctx"], plan.batch_size)
    _write_shard(wd, stage, shard, kept, dropped, counts)
    return plan.shards[shard][1]


def _fp_task(stage: int, shard: int) -> int:
    plan: Plan = _STATE["plan"]
    wd: Path = _STATE["wd"]
    step = plan.stages[stage].steps[0]
    items = base.fingerprint(
        _op(step.key), _input(plan, wd, stage, shard), _STATE["ctx"], plan.batch_size
    )
    _atomic(_path(wd, stage, shard, "fp.pkl"), lambda p: Path(p).write_bytes(pickle.dumps(items)))
    return plan.shards[shard][1]


# -- driver side ------------------------------------------------------------------------------
def _dedup_op(step: Step) -> Deduplicator:
    op = step.build()
    assert isinstance(op, Deduplicator), step.op
    return op


def _apply_dedup(plan: Plan, wd: Path, stage: int) -> None:
    """One global resolve, saved so a resume does not redo it; then drops per shard."""
    step = plan.stages[stage].steps[0]
    resolved = wd / f"s{stage:02d}" / "resolve.json"
    op = _dedup_op(step)
    if resolved.exists():
        drops = json.loads(resolved.read_text())
    else:
        items: list[tuple[int, str, Any]] = []
        for i in range(len(plan.shards)):
            items.extend(pickle.loads(_path(wd, stage, i, "fp.pkl").read_bytes()))
        op.setup()
        drops = base.resolve(op, items)
        _atomic(resolved, lambda p: Path(p).write_text(json.dumps(drops)))
    for i in range(len(plan.shards)):
        if _path(wd, stage, i, "done").exists():
            continue
        items = pickle.loads(_path(wd, stage, i, "fp.pkl").read_bytes())
        described = {sid: op.describe(fp) for _, sid, fp in items if fp is not None}
        kept, dropped, c = base.split_dropped(
            _input(plan, wd, stage, i),
            drops,
            step,
            plan.run_id,
            op.name,
            stats={k: v for k, v in described.items() if v},
            annotate=op.mode == ANNOTATE,
        )
        _write_shard(wd, stage, i, kept, dropped, {step.key: c})


def collect(plan: Plan, wd: Path) -> Outcome:
    """The final kept rows, every stage's drops, and the summed counts."""
    last = len(plan.stages) - 1
    n = len(plan.shards)
    counts: dict[str, StepCounts] = {s.key: StepCounts() for s in plan.recipe.steps}
    dropped = []
    for k in range(last + 1):
        for i in range(n):
            for key, c in _read_counts(_path(wd, k, i, "done")).items():
                counts[key].merge(c)
            dropped.append(
                pq.read_table(str(_path(wd, k, i, "dropped.parquet")), schema=base.DROPPED_SCHEMA)
            )
    kept = [
        pq.read_table(str(_path(wd, last, i, "kept.parquet")), schema=base.KEPT_SCHEMA)
        for i in range(n)
    ]
    return Outcome(
        base.concat(kept, base.KEPT_SCHEMA), base.concat(dropped, base.DROPPED_SCHEMA), counts
    )

"""The Ray executor: the local executor's shards, run by a pool of Ray actors.

Each actor is one worker process of the local executor: it builds a stage's
operators once (``setup`` on first use, so a model loads once per actor) and runs
one shard at a time with the same per-shard function, writing the same files
under ``CORPUS/.work/RUN_ID/`` (parquet, then a ``.done`` marker renamed into
place last). So a run gives the same samples, stats and drops as the local
executor, and a driver killed part way resumes like a local run: a rerun finds
the finished shards' markers and hands only the others to the actors.
Deduplicators fingerprint per shard in the actors and resolve once in the driver.

The work directory must be one every actor can reach: on one machine any path;
across machines a shared file system (or the corpus's object store).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from plait.cluster import connect
from plait.executors import local
from plait.executors.plan import Outcome, Plan


class _ShardWorker:
    """A Ray actor running the local executor's per-shard tasks."""

    def __init__(self, plan: Plan) -> None:
        local._init_worker(plan)

    def run(self, stage: int, shard: int, dedup: bool) -> int:
        return (local._fp_task if dedup else local._fused_task)(stage, shard)


def _submit(stage: int, dedup: bool, actor: Any, shard: int) -> Any:
    return actor.run.remote(stage, shard, dedup)


class RayExecutor:
    """Runs on the Ray cluster this process is connected to, ``RAY_ADDRESS``, or a new
    local one."""

    name = "ray"

    def run(self, plan: Plan, *, progress: Callable[[int], None] | None = None) -> Outcome:
        ray, connected = connect(plan.workers)
        try:
            return self._run(ray, plan, progress)
        finally:
            if connected:
                ray.shutdown()

    def _run(self, ray: Any, plan: Plan, progress: Callable[[int], None] | None) -> Outcome:
        from ray.util import ActorPool

        wd = local.work_dir(plan.corpus_path, plan.run_id)
        wd.mkdir(parents=True, exist_ok=True)
        actor = ray.remote(num_cpus=1)(_ShardWorker)
        actors: list[Any] = []
        reused = 0
        try:
            for k, stage in enumerate(plan.stages):
                dedup = stage.is_dedup
                todo = [i for i in range(len(plan.shards)) if not local._done(wd, k, i, dedup)]
                reused += len(plan.shards) - len(todo)
                if progress:
                    for i in set(range(len(plan.shards))) - set(todo):
                        progress(plan.shards[i][1])
                if todo and not actors:  # started on first need: a finished run starts none
                    n = max(1, min(plan.workers or 1, len(plan.shards)))
                    actors = [actor.remote(plan) for _ in range(n)]
                if todo:
                    pool = ActorPool(actors)
                    done = pool.map_unordered(functools.partial(_submit, k, dedup), todo)
                    for n_rows in done:
                        if progress:
                            progress(n_rows)
                if dedup:
                    local._apply_dedup(plan, wd, k)
        finally:
            for a in actors:
                ray.kill(a)
        out = local.collect(plan, wd)
        out.reused = reused
        return out

"""``curate``: run a recipe over a corpus and commit a new version of it.

The recipe is loaded (every parameter checked) and the executor looked up
before anything is read. A run reads one pinned version of ``samples``,
writes its shard results under ``CORPUS/.work/RUN_ID/`` and commits once. An
unfinished run of the same recipe (killed, interrupted, crashed) is found
there and resumed under its own run id, redoing only unfinished shards.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from plait.errors import ConfigError, NotFoundError
from plait.executors import get_executor
from plait.executors.commit import commit
from plait.executors.local import WORK, work_dir
from plait.executors.plan import Outcome, Plan, lay_out_families
from plait.io.corpus import Corpus, sql_str
from plait.io.runs import Run, new_run_id
from plait.io.store import is_remote, rmtree, write_file
from plait.progress import Progress, counter
from plait.recipe import Recipe, load_recipe

PLAN = "plan.json"


@dataclass
class CurateReport:
    run_id: str
    executor: str
    dry_run: bool
    resumed: bool
    recipe: list[dict[str, Any]]
    shards: int
    samples: int  # in the input snapshot
    stages: int = 0  # fused Filter/Mapper groups and dedup barriers
    reused: int = 0  # shard-stage results kept from the interrupted attempt (on resume)
    kept: int = 0
    rejected: int = 0
    replaced: int = 0  # samples whose earlier version went to ``replaced`` (mapper changes)
    steps: list[dict[str, Any]] = field(default_factory=list)
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def curate(
    corpus: Corpus | str | Path,
    recipe: str | Path | list[dict[str, Any]] | Recipe,
    *,
    executor: str = "local",
    dry_run: bool = False,
    workers: int | None = None,
    shard_size: int = 1000,
    batch_size: int = 256,
    resume: bool | str | None = None,
    progress: Progress | None = None,
) -> CurateReport:
    """Run ``recipe`` over ``corpus``; returns counts per step and reason.

    ``resume``: None resumes an unfinished run of the same recipe if there is
    one; a run id resumes that run; False always starts afresh. ``workers=0``
    runs the local executor in this process (for debugging). ``progress`` counts
    samples through every stage (samples x stages in all).
    """
    corpus = corpus if isinstance(corpus, Corpus) else Corpus.open(corpus)
    rec = recipe if isinstance(recipe, Recipe) else load_recipe(recipe)
    rec.check(corpus.path)
    ex = get_executor(executor)
    if shard_size < 1:
        raise ConfigError("shard_size must be at least 1")
    workers = min(2, os.cpu_count() or 1) if workers is None else workers

    plan = None if dry_run or resume is False else _find_unfinished(corpus, rec, resume)
    resumed = plan is not None
    if plan is None:
        ds = corpus.dataset("samples")
        plan = Plan(
            new_run_id("curate"),
            str(corpus.path),
            rec,
            snapshot=ds.version if ds is not None else 0,
            total=ds.count_rows() if ds is not None else 0,
            shard_size=shard_size,
            workers=workers,
            batch_size=batch_size,
        )
    else:
        plan.workers = workers
    lay_out_families(plan)
    report = CurateReport(
        plan.run_id,
        ex.name,
        dry_run,
        resumed,
        rec.to_list(),
        len(plan.shards),
        plan.total,
        len(plan.stages),
    )
    if dry_run:
        return report
    wd = work_dir(corpus.path, plan.run_id)
    if not resumed:
        _save_plan(wd, plan)

    t0 = time.perf_counter()
    params = {
        "recipe": rec.to_list(),
        "recipe_hash": rec.hash,
        "source": rec.source,
        "executor": ex.name,
        "workers": workers,
        "shard_size": plan.shard_size,
        "snapshot": plan.snapshot,
        "resumed": resumed,
    }
    with Run(corpus, "curate", params, run_id=plan.run_id) as run:
        advance = counter(progress, plan.total * len(plan.stages), "curate")
        outcome = ex.run(plan, progress=advance)
        result = commit(corpus, plan.run_id, outcome, plan.snapshot)
        _fill(report, plan, outcome)
        report.replaced = result.replaced_written
        run.counts = {
            "input": plan.total,
            "kept": report.kept,
            "rejected": report.rejected,
            "replaced": report.replaced,
            "steps": report.steps,
            "rejected_by_reason": report.rejected_by_reason,
            "shards": len(plan.shards),
            "samples_version": [result.version_before, result.version_after],
        }
    _discard(wd)
    corpus.compact("samples")
    corpus.compact("rejected")
    corpus.compact("replaced")
    report.seconds = time.perf_counter() - t0
    return report


def _fill(report: CurateReport, plan: Plan, outcome: Outcome) -> None:
    report.reused = outcome.reused
    report.kept = outcome.kept.num_rows
    report.rejected = outcome.dropped.num_rows
    for step in plan.recipe.steps:
        c = outcome.counts[step.key]
        report.steps.append(
            {"step": step.position, "op": step.op, "kind": step.kind, **c.to_dict()}
        )
    reasons = Counter(
        f"{op}: {r}"
        for op, r in zip(
            outcome.dropped.column("op").to_pylist(),
            _codes(outcome.dropped.column("reason").to_pylist()),
        )
    )
    report.rejected_by_reason = dict(reasons.most_common())


def _codes(reasons: list[str]) -> list[str]:
    from plait.executors.base import reason_code

    return [reason_code(r) for r in reasons]


# -- resume -----------------------------------------------------------------------------------
def _save_plan(wd: Path, plan: Plan) -> None:
    wd.mkdir(parents=True, exist_ok=True)
    data = {
        "run_id": plan.run_id,
        "recipe": [{"op": s.op, **s.params} for s in plan.recipe.steps],
        "recipe_hash": plan.recipe.hash,
        "snapshot": plan.snapshot,
        "total": plan.total,
        "shard_size": plan.shard_size,
        "batch_size": plan.batch_size,
    }
    write_file(wd / PLAN, lambda name: Path(name).write_text(json.dumps(data, default=str)))


def _find_unfinished(corpus: Corpus, rec: Recipe, resume: bool | str | None) -> Plan | None:
    """The unfinished run to resume, if any; committed leftovers are cleaned up."""
    root = corpus.path / WORK
    for gone in root.glob(f"*{DISCARDED}") if not is_remote(root) and root.is_dir() else []:
        rmtree(gone, ignore_errors=True)  # a kill interrupted its deletion
    candidates = sorted(root.glob(f"*/{PLAN}")) if root.is_dir() else []
    if isinstance(resume, str):
        candidates = [p for p in candidates if p.parent.name == resume]
        if not candidates:
            raise NotFoundError(f"no unfinished curate run {resume!r} in {corpus.path}")
    for path in reversed(candidates):  # newest run id last
        data = json.loads(path.read_text())
        if _committed(corpus, data["run_id"]):
            _discard(path.parent)
            continue
        if data["recipe_hash"] != rec.hash:
            if isinstance(resume, str):
                raise ConfigError(f"run {resume!r} was started with a different recipe")
            continue
        return Plan(
            data["run_id"],
            str(corpus.path),
            rec,
            data["snapshot"],
            data["total"],
            data["shard_size"],
            workers=0,
            batch_size=data["batch_size"],
        )
    return None


DISCARDED = ".discarded"


def _discard(wd: Path) -> None:
    """Delete a committed run's work folder. It is renamed first (one atomic step), so a
    kill part way through the deletion leaves a folder the next run knows to be garbage,
    not a half-deleted one without its plan."""
    if is_remote(wd):  # object stores rename by copying: nothing to gain
        rmtree(wd, ignore_errors=True)
    else:
        gone = wd.with_name(wd.name + DISCARDED)
        try:
            os.replace(wd, gone)
        except OSError:
            return
        rmtree(gone, ignore_errors=True)
    with contextlib.suppress(OSError):
        wd.parent.rmdir()  # .work itself, once no other run is unfinished


def _committed(corpus: Corpus, run_id: str) -> bool:
    where = f"run_id = {sql_str(run_id)} AND status = 'ok'"
    return corpus.has("runs") and corpus.count("runs", where=where) > 0

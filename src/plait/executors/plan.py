"""The plan of a curate run: its stages, its shards (laid out so no family is split),
and what each step did.

A recipe runs as stages: consecutive Filter/Mapper steps are fused (each sample goes
through all of them in one pass over a shard), and each Deduplicator is a barrier
(fingerprints per shard, one global resolve in the driver).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import pyarrow as pa

from plait.executors.families import family_bounds, family_order
from plait.io.store import location
from plait.recipe import Recipe, Step


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
    # Snapshot rows with each family together (None: row order), and the shards as
    # (offset, length) into it; set by :func:`lay_out_families`.
    order: Any = None
    bounds: list[tuple[int, int]] | None = None

    @property
    def shards(self) -> list[tuple[int, int]]:
        """(offset, length) of each shard of the snapshot (of ``order`` when set)."""
        if self.bounds is not None:
            return self.bounds
        n = self.total
        return [(o, min(self.shard_size, n - o)) for o in range(0, n, self.shard_size)]

    @property
    def stages(self) -> list[Stage]:
        return stages(self.recipe)


def lay_out_families(plan: Plan) -> Plan:
    """Order the snapshot so no shard splits a family (a no-op without parents)."""
    import lance
    import numpy as np

    plan.order, plan.bounds = None, None
    if plan.total == 0:
        return plan
    ds = lance.dataset(str(location(plan.corpus_path) / "samples.lance"), version=plan.snapshot)
    if ds.count_rows(filter="parent IS NOT NULL") == 0:
        return plan
    t = ds.to_table(columns=["id", "parent"])
    ids, parents = t.column("id").to_pylist(), t.column("parent").to_pylist()
    order = family_order(ids, parents)
    if order is None:
        return plan
    cuts = family_bounds([ids[i] for i in order], [parents[i] for i in order], plan.shard_size)
    plan.order = np.asarray(order, dtype=np.int64)
    plan.bounds = [(a, b - a) for a, b in cuts]
    return plan


@dataclass
class StepCounts:
    """What one step did: samples in, kept, dropped by reason code, samples whose
    content it changed, would-be drops by reason (annotate mode), seconds, and the
    operator's own counts (``events``: model calls, cache hits, failures by reason)."""

    seen: int = 0
    kept: int = 0
    dropped: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    stats_keys: set[str] = field(default_factory=set)
    changed: int = 0
    flagged: Counter = field(default_factory=Counter)
    events: Counter = field(default_factory=Counter)

    def merge(self, other: StepCounts) -> None:
        self.seen += other.seen
        self.kept += other.kept
        self.dropped.update(other.dropped)
        self.seconds += other.seconds
        self.stats_keys |= other.stats_keys
        self.changed += other.changed
        self.flagged.update(other.flagged)
        self.events.update(other.events)

    def to_dict(self) -> dict[str, Any]:
        return {
            "in": self.seen,
            "kept": self.kept,
            "dropped": dict(self.dropped),
            "changed": self.changed,
            "would_drop": dict(self.flagged),
            "seconds": round(self.seconds, 4),
            "stats_keys": sorted(self.stats_keys),
            **({"events": dict(sorted(self.events.items()))} if self.events else {}),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StepCounts:
        c = cls(
            d["in"],
            d["kept"],
            seconds=d["seconds"],
            stats_keys=set(d["stats_keys"]),
            changed=d.get("changed", 0),
        )
        c.dropped.update(d["dropped"])
        c.flagged.update(d.get("would_drop", {}))
        c.events.update(d.get("events", {}))
        return c


@dataclass
class Outcome:
    """What an executor hands to the commit: final kept rows, every drop, per-step counts."""

    kept: pa.Table  # KEPT_SCHEMA, ordered by _row
    dropped: pa.Table  # DROPPED_SCHEMA
    counts: dict[str, StepCounts]  # by Step.key
    reused: int = 0  # shard results found from an earlier, interrupted attempt


class Executor(Protocol):
    name: str

    def run(self, plan: Plan, *, progress: Callable[[int], None] | None = None) -> Outcome: ...

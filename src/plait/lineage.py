"""Lineage: where a sample came from, what each run did to it, and undoing a run's drops.

Everything is read back from the corpus itself: the sample's row (in
``samples`` or ``rejected``), the ``runs`` rows (a curate run records its
recipe and which stats keys each step wrote; a restore run records the ids it
brought back and why they had been dropped).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pyarrow as pa

from plait import schema
from plait.errors import NotFoundError
from plait.executors.base import reason_code
from plait.io.corpus import Corpus, sql_in, sql_str
from plait.io.runs import Run


@dataclass
class Event:
    run_id: str
    command: str
    at: datetime | None
    what: str


@dataclass
class Lineage:
    sample_id: str
    status: str  # "present" or "rejected"
    dataset: str
    uri: str
    events: list[Event] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "events": [e.__dict__ for e in self.events]}


def why(corpus: Corpus, sample_id: str) -> Lineage:
    """The path of one sample through every run, oldest first."""
    where = f"id = {sql_str(sample_id)}"
    present = corpus.read("samples", where=where, limit=1).to_pylist()
    rejected = corpus.read("rejected", where=where).to_pylist()
    if not present and not rejected:
        raise NotFoundError(f"no sample {sample_id!r} in samples or rejected of {corpus.path}")
    row = present[0] if present else rejected[-1]
    stats = schema.loads(row["stats"])
    src = row.get("source") or {}
    out = Lineage(
        sample_id,
        "present" if present else "rejected",
        src.get("dataset") or "",
        src.get("uri") or "",
        stats=stats,
    )
    drops = {r["rejected_by"]: r for r in rejected}
    runs = sorted(corpus.read("runs").to_pylist(), key=lambda r: r["started_at"])
    runs = [r for r in runs if r["status"] == "ok"]
    ingest_run = row.get("run_id")
    born = next((r["started_at"] for r in runs if r["run_id"] == ingest_run), None)
    out.events.append(
        Event(
            ingest_run or "?",
            "ingest",
            born,
            f"ingested from {src.get('dataset')!r} ({src.get('uri')}), "
            f"licence {src.get('licence')}",
        )
    )
    alive = True
    for run in runs:
        if born is not None and run["started_at"] <= born:
            continue
        params, counts = schema.loads(run["params"]), schema.loads(run["counts"])
        if run["command"] == "restore":
            restored = params.get("restored", {})
            if sample_id in restored:
                alive = True
                out.events.append(
                    Event(
                        run["run_id"],
                        "restore",
                        run["started_at"],
                        f"restored (dropped by run {params.get('run')}: {restored[sample_id]})",
                    )
                )
            continue
        if run["command"] != "curate" or not alive:
            continue
        drop = drops.get(run["run_id"])
        if drop is None and run["run_id"] in _restored_runs(runs, sample_id):
            op, _, reason = _restored_reason(runs, sample_id, run["run_id"]).partition(": ")
            drop = {"op": op, "reason": reason}
        touched = _steps_that_wrote(counts, stats)
        if drop is not None:
            alive = False
            out.events.append(
                Event(
                    run["run_id"],
                    "curate",
                    run["started_at"],
                    f"dropped by {drop['op']}: {drop['reason']}"
                    + (f" (stats from {touched})" if touched else ""),
                )
            )
        else:
            out.events.append(
                Event(
                    run["run_id"],
                    "curate",
                    run["started_at"],
                    "kept" + (f"; stats from {touched}" if touched else ""),
                )
            )
    return out


def _steps_that_wrote(counts: dict[str, Any], stats: dict[str, Any]) -> str:
    parts = []
    for step in counts.get("steps", []):
        keys = [k for k in step.get("stats_keys", []) if k in stats]
        if keys:
            parts.append(f"{step['op']} ({', '.join(keys)})")
    return "; ".join(parts)


def _restored_runs(runs: list[dict[str, Any]], sample_id: str) -> set[str]:
    out = set()
    for r in runs:
        if r["command"] == "restore" and sample_id in schema.loads(r["params"]).get("restored", {}):
            out.add(schema.loads(r["params"]).get("run"))
    return out


def _restored_reason(runs: list[dict[str, Any]], sample_id: str, run_id: str) -> str:
    for r in runs:
        p = schema.loads(r["params"])
        if r["command"] == "restore" and p.get("run") == run_id:
            return p.get("restored", {}).get(sample_id, "?")
    return "?"


@dataclass
class RestoreReport:
    run_id: str  # the restore run
    undone: str  # the curate run whose drops were undone
    restored: int
    already_present: int
    by_reason: dict[str, int]


def restore(corpus: Corpus, run: str) -> RestoreReport:
    """Move every sample that ``run`` dropped back into ``samples``.

    Safe to repeat after a crash: samples already back are not appended twice,
    and the ``rejected`` rows go only after the samples are in.
    """
    where = f"rejected_by = {sql_str(run)}"
    rows = corpus.read("rejected", where=where)
    if rows.num_rows == 0:
        if corpus.count("runs", where=f"run_id = {sql_str(run)}") if corpus.has("runs") else 0:
            raise NotFoundError(f"run {run!r} has no rejected samples left to restore")
        raise NotFoundError(f"no run {run!r} in {corpus.path}")
    ids = rows.column("id").to_pylist()
    present = set()
    for i in range(0, len(ids), 1000):
        present |= corpus.ids("samples", where=sql_in("id", ids[i : i + 1000]))
    back = rows.filter(pa.array([i not in present for i in ids]))
    restored = {
        r["id"]: f"{r['op']}: {r['reason']}"
        for r in rows.select(["id", "op", "reason"]).to_pylist()
    }
    by_reason: dict[str, int] = {}
    for r in rows.select(["op", "reason"]).to_pylist():
        key = f"{r['op']}: {reason_code(r['reason'])}"
        by_reason[key] = by_reason.get(key, 0) + 1
    with Run(corpus, "restore", {"run": run, "restored": restored}) as rec:
        corpus.append("samples", back.select(schema.SAMPLES.names))
        corpus.delete("rejected", where)
        rec.counts = {"restored": len(ids), "already_present": len(present), "by_reason": by_reason}
    corpus.compact("samples")
    corpus.compact("rejected")
    return RestoreReport(rec.run_id, run, len(ids), len(present), by_reason)

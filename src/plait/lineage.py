"""Lineage: where a sample came from, what each run did to it, and undoing a run.

Everything is read back from the corpus itself: the sample's row (in ``samples``
or ``rejected``), the versions runs replaced (``replaced``: a mapper's rewrite,
an ingest rerun that completed the sample), and the ``runs`` rows (a curate run
records its recipe and which stats keys each step wrote; a restore run records
the ids it brought back and why they had been dropped).

API: :func:`why` (one sample's story) and :func:`restore` (undo one run).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import pyarrow as pa

from plait import schema
from plait.errors import ConfigError, NotFoundError
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
    # earlier versions runs replaced, oldest first: run, op, change, restored_by and the
    # slots (texts, images, langs) as they were
    versions: list[dict[str, Any]] = field(default_factory=list)
    # the provenance of every generated text slot: slot, text, op, generator, prompt
    # (template hash), template, params, from (source slots), run
    generated: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "events": [e.__dict__ for e in self.events]}


def _rows(corpus: Corpus, table: str, where: str) -> list[dict[str, Any]]:
    if not corpus.has(table):
        return []
    return corpus.read(table, where=where).to_pylist()


class Tables(Protocol):
    """Where :func:`why` reads: a sample's rows of one table, and the ``runs`` rows. The
    server passes one that holds the tables per version (its sample pages must not scan)."""

    def rows(self, table: str, sample_id: str) -> list[dict[str, Any]]: ...

    def runs(self) -> list[dict[str, Any]]: ...


@dataclass
class _Scans:
    """The tables read afresh, by filtered scans (a one-off ``plait why``)."""

    corpus: Corpus

    def rows(self, table: str, sample_id: str) -> list[dict[str, Any]]:
        return _rows(self.corpus, table, f"id = {sql_str(sample_id)}")

    def runs(self) -> list[dict[str, Any]]:
        return self.corpus.read("runs").to_pylist()


def why(corpus: Corpus, sample_id: str, tables: Tables | None = None) -> Lineage:
    """The path of one sample through every run, oldest first: ingested, changed (by
    which mapper, and how), kept or dropped (by which operator, why), restored."""
    read = tables or _Scans(corpus)
    present = read.rows("samples", sample_id)[:1]
    rejected = read.rows("rejected", sample_id)
    versions = sorted(read.rows("replaced", sample_id), key=lambda r: r["replaced_at"])
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
    out.versions = [
        {
            k: v[k]
            for k in ("replaced_by", "op", "change", "restored_by", "texts", "images", "langs")
        }
        for v in versions
    ]
    drops = {r["rejected_by"]: r for r in rejected}
    replaced = {r["replaced_by"]: r for r in versions}
    undone = {r["restored_by"]: r for r in versions if r["restored_by"]}
    runs = sorted(read.runs(), key=lambda r: r["started_at"])
    runs = [r for r in runs if r["status"] == "ok"]
    ingest_run = versions[0]["run_id"] if versions else row.get("run_id")
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
        rid, command, at = run["run_id"], run["command"], run["started_at"]
        params, counts = schema.loads(run["params"]), schema.loads(run["counts"])
        if command == "restore":
            restored, what = params.get("restored", {}), []
            if sample_id in restored:
                alive = True
                what.append(f"restored (dropped by run {params.get('run')}: {restored[sample_id]})")
            if rid in undone:
                v = undone[rid]
                what.append(
                    f"put back the version run {v['replaced_by']} replaced "
                    f"(undoing {v['op']}: {v['change']})"
                )
            if what:
                out.events.append(Event(rid, command, at, "; ".join(what)))
            continue
        if rid in replaced and command != "curate":
            v = replaced[rid]
            out.events.append(Event(rid, command, at, f"replaced by {v['op']}: {v['change']}"))
            continue
        if command != "curate" or not alive:
            continue
        what = []
        if rid in replaced:
            v = replaced[rid]
            what.append(f"changed by {v['op']}: {v['change']}")
        drop = drops.get(rid)
        if drop is None and rid in _restored_runs(runs, sample_id):
            op, _, reason = _restored_reason(runs, sample_id, rid).partition(": ")
            drop = {"op": op, "reason": reason}
        touched = _steps_that_wrote(counts, stats)
        if drop is not None:
            alive = False
            what.append(f"dropped by {drop['op']}: {drop['reason']}")
            if touched:
                what[-1] += f" (stats from {touched})"
        else:
            what.append("kept" + (f"; stats from {touched}" if touched else ""))
        what += [_generated_line(g) for g in _generated(row, stats) if g.get("run") == rid]
        out.events.append(Event(rid, command, at, "; ".join(what)))
    out.generated = _generated(row, stats)
    return out


def _generated(row: dict[str, Any], stats: dict[str, Any]) -> list[dict[str, Any]]:
    texts = row.get("texts") or []
    out = []
    for k, rec in sorted((stats.get("generated") or {}).items(), key=lambda kv: int(kv[0])):
        slot = int(k)
        if 0 <= slot < len(texts) and texts[slot] is not None and isinstance(rec, dict):
            out.append({"slot": slot, "text": texts[slot], **rec})
    return out


def _generated_line(g: dict[str, Any]) -> str:
    src = g.get("from")
    src = ", ".join(map(str, src)) if isinstance(src, list) else src
    return (
        f"slot {g['slot']} written by {g.get('op')} from slot {src} with {g.get('generator')} "
        f"(prompt {g.get('template')} {g.get('prompt')})"
    )


def _steps_that_wrote(counts: dict[str, Any], stats: dict[str, Any]) -> str:
    parts = []
    for step in counts.get("steps", []):
        keys = [k for k in step.get("stats_keys", []) if k in stats]
        if keys:
            parts.append(f"{step['op']} ({', '.join(keys)})")
    return "; ".join(parts)


def _restored_runs(runs: list[dict[str, Any]], sample_id: str) -> set[str]:
    out: set[str] = set()
    for r in runs:
        params = schema.loads(r["params"])
        if (
            r["command"] == "restore"
            and sample_id in params.get("restored", {})
            and params.get("run")
        ):
            out.add(params["run"])
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
    undone: str  # the run whose drops and replacements were undone
    restored: int  # dropped samples brought back
    already_present: int
    by_reason: dict[str, int]
    reverted: int = 0  # samples put back to the version the run replaced


def restore(corpus: Corpus, run: str) -> RestoreReport:
    """Undo ``run``: every sample it dropped goes back into ``samples``, and every
    sample it changed (a mapper) goes back to the version it replaced.

    Refused (ConfigError, nothing written) when a later run changed or dropped one of
    those samples again: restore that run first. Safe to repeat after a crash: one
    upsert puts the samples back, then the ``rejected`` rows go and the ``replaced``
    rows are marked with the restore run.
    """
    by_run = sql_str(run)
    rejected = corpus.read("rejected", where=f"rejected_by = {by_run}")
    standing = f"replaced_by = {by_run} AND restored_by IS NULL"
    versions = (
        corpus.read("replaced", where=standing)
        if corpus.has("replaced")
        else schema.REPLACED.empty_table()
    )
    if rejected.num_rows == 0 and versions.num_rows == 0:
        if corpus.has("runs") and corpus.count("runs", where=f"run_id = {by_run}"):
            raise NotFoundError(
                f"run {run!r} has no rejected samples left to restore and no changes to undo"
            )
        raise NotFoundError(f"no run {run!r} in {corpus.path}")
    changed_ids = versions.column("id").to_pylist()
    later = changed_later(corpus, run, changed_ids)
    if later:
        runs = ", ".join(f"{r} ({n})" for r, n in later.most_common())
        raise ConfigError(
            f"{sum(later.values())} samples that run {run!r} changed were changed or dropped "
            f"again by later runs: {runs}; restore those runs first"
        )
    ids = rejected.column("id").to_pylist()
    reverting = set(changed_ids)
    back_ids = [i for i in ids if i not in reverting]
    present: set[str] = set()
    for i in range(0, len(back_ids), 1000):
        present |= corpus.ids("samples", where=sql_in("id", back_ids[i : i + 1000]))
    back = pa.concat_tables(
        [
            rejected.filter(
                pa.array([i not in reverting and i not in present for i in ids], pa.bool_())
            )
            .select(schema.SAMPLES.names)
            .cast(schema.SAMPLES),
            versions.select(schema.SAMPLES.names).cast(schema.SAMPLES),
        ]
    )
    restored = {
        r["id"]: f"{r['op']}: {r['reason']}"
        for r in rejected.select(["id", "op", "reason"]).to_pylist()
    }
    by_reason = dict(Counter(f"{op}: {reason_code(why)}" for op, _, why in _ops(rejected)))
    params = {"run": run, "restored": restored, "reverted": len(changed_ids)}
    with Run(corpus, "restore", params) as rec:
        corpus.upsert("samples", back)
        corpus.delete("rejected", f"rejected_by = {by_run}")
        if versions.num_rows:
            corpus.update("replaced", {"restored_by": sql_str(rec.run_id)}, where=standing)
        rec.counts = {
            "restored": len(ids),
            "already_present": len(present),
            "reverted": len(changed_ids),
            "by_reason": by_reason,
        }
    for table in ("samples", "rejected", "replaced"):
        corpus.compact(table)
    return RestoreReport(rec.run_id, run, len(ids), len(present), by_reason, len(changed_ids))


def _ops(rejected: pa.Table) -> list[tuple[str, str, str]]:
    rows = rejected.select(["op", "id", "reason"]).to_pylist()
    return [(r["op"], r["id"], r["reason"]) for r in rows]


def changed_later(corpus: Corpus, run: str, ids: list[str]) -> Counter:
    """Runs after ``run`` that replaced or dropped any of ``ids`` (still standing):
    {run id: samples}."""
    if not ids:
        return Counter()
    started = {
        r["run_id"]: r["started_at"]
        for r in corpus.read("runs", columns=["run_id", "started_at"]).to_pylist()
    }
    mine = started.get(run)
    out: Counter = Counter()
    for i in range(0, len(ids), 1000):
        chunk = sql_in("id", ids[i : i + 1000])
        for r in _rows(corpus, "replaced", f"{chunk} AND restored_by IS NULL"):
            other = r["replaced_by"]
            if other != run and (mine is None or (started.get(other) or mine) > mine):
                out[other] += 1
        for r in _rows(corpus, "rejected", chunk):
            if r["rejected_by"] != run:
                out[r["rejected_by"]] += 1
    return out

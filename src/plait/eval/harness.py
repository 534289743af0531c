"""Run a benchmark through the search path users call, and score it.

Every task's queries go through :func:`plait.retrieval.search_batch` (no
evaluation-only shortcut), hits become a TREC run keyed by corpus ids
(``sample_id``, or ``sample_id#slot`` for slot-level tasks), and the run is
scored by :func:`plait.eval.metrics.evaluate`. Scores come from the hits, so
tied scores are ordered as trec_eval orders them, and the written run file
gives the same numbers under trec_eval.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from plait.errors import ConfigError
from plait.eval.benchmark import CAPTIONS, PAGES, Benchmark, Item, Task
from plait.eval.metrics import Evaluation, evaluate
from plait.io.corpus import Corpus, sql_str

CURVE_KS = (1, 2, 3, 5, 10, 20, 50, 100)


def metrics_for(kind: str) -> list[str]:
    """What is reported for a benchmark kind (the table shows a subset)."""
    base = [
        "recall@1",
        "recall@5",
        "recall@10",
        "success@1",
        "success@5",
        "success@10",
        "mrr",
        "ndcg@10",
        "map",
    ]
    return base if kind != PAGES else ["ndcg@5", *base]


@dataclass
class TaskResult:
    task: str
    evaluation: Evaluation
    curve: dict[str, dict[int, float]]  # recall / success -> {k: value}
    chance: dict[str, float]  # success@k of a random ranking, for scale
    run: dict[str, dict[str, float]] = field(repr=False, default_factory=dict)
    qrels: dict[str, dict[str, int]] = field(repr=False, default_factory=dict)

    def to_dict(self, per_query: bool = False) -> dict[str, Any]:
        ev = self.evaluation.to_dict()
        if not per_query:
            ev.pop("per_query")
        return {"task": self.task, **ev, "curve": self.curve, "chance": self.chance}


@dataclass
class EvalResult:
    benchmark: dict[str, Any]
    encoder: str
    depth: int
    tasks: list[TaskResult]
    run_id: str = ""
    seconds: float = 0.0

    def to_dict(self, per_query: bool = False) -> dict[str, Any]:
        return {
            "benchmark": self.benchmark,
            "encoder": self.encoder,
            "depth": self.depth,
            "run_id": self.run_id,
            "seconds": round(self.seconds, 3),
            "tasks": {t.task: t.to_dict(per_query) for t in self.tasks},
        }


def _image_bytes(corpus: Corpus, items: list[Item]) -> dict[str, bytes]:
    media = corpus.media_many([q.media for q in items if q.media])
    out = {q.id: media[q.media] for q in items if q.media and q.media in media}
    for q in items:
        if q.image and q.id not in out:
            p = Path(q.image)
            if not p.is_file():
                raise ConfigError(f"query {q.id!r}: image {p} not found")
            out[q.id] = p.read_bytes()
    return out


def build_queries(
    task: Task,
    corpus: Corpus,
    encoder: str,
    depth: int,
    *,
    where: str | None = None,
    instructions: bool = True,
) -> list[Any]:
    """The :class:`plait.retrieval.Query` list for one task (see the module docstring)."""
    from plait.retrieval import Query

    images = _image_bytes(corpus, [q for q in task.queries if q.media or q.image])
    out = []
    for q in task.queries:
        text = q.text
        if text is not None and instructions and q.instruction:
            text = f"{q.instruction} {text}"
        scope = f"parent = {sql_str(q.scope)}" if q.scope else None
        filt = " AND ".join(f"({w})" for w in (where, scope) if w) or None
        out.append(
            Query(
                text=text,
                image=images.get(q.id),
                modality=task.target,
                kind=task.kind,
                k=depth,
                encoder=encoder,
                where=filt,
                rollup=not task.slots,
            )
        )
    return out


def hits_to_run(task: Task, hits: list[list[Any]]) -> dict[str, dict[str, float]]:
    run: dict[str, dict[str, float]] = {}
    for q, found in zip(task.queries, hits, strict=True):
        docs = run.setdefault(q.id, {})
        for h in found:
            did = f"{h.sample_id}#{h.slot}" if task.slots and h.slot is not None else h.sample_id
            docs.setdefault(did, float(h.score))
    return run


def score_task(
    task: Task, run: dict[str, dict[str, float]], kind: str, pool: int, depth: int
) -> TaskResult:
    ks = [k for k in CURVE_KS if k <= depth]
    names = list(
        dict.fromkeys(metrics_for(kind) + [f"{m}@{k}" for m in ("recall", "success") for k in ks])
    )
    ev = evaluate(run, task.qrels, names, complete=True)
    curve = {m: {k: ev.mean[f"{m}@{k}"] for k in ks} for m in ("recall", "success")}
    n_rel = [sum(1 for g in rel.values() if g >= 1) for rel in task.qrels.values()]
    chance = {}
    for k in (
        1,
        5,
        10,
    ):  # P(at least one of r relevant in k draws without replacement from the pool)
        vals = [1.0 - _comb_ratio(pool - r, pool, k) for r in n_rel] if pool else []
        chance[f"success@{k}"] = sum(vals) / len(vals) if vals else 0.0
    return TaskResult(task.name, ev, curve, chance, run, task.qrels)


def _comb_ratio(a: int, n: int, k: int) -> float:
    """C(a, k) / C(n, k): the chance that k random picks from n avoid n - a marked items."""
    out = 1.0
    for i in range(min(k, n)):
        out *= max(a - i, 0) / (n - i)
    return out


def pool_size(bench: Benchmark, task: Task) -> int:
    if task.target is None:
        return len(bench.candidates)
    return sum(
        1 for c in bench.candidates.values() if (c.text is not None) == (task.target == "text")
    )


def _searched(corpus: Corpus, queries: list[Any]) -> list[list[Any]]:
    """Hits per query; a query with nothing to search (a recording nothing was
    transcribed from) finds nothing. ``SPEC@modality`` picks the slots searched."""
    from dataclasses import replace

    from plait.retrieval import search_batch
    from plait.retrieval.fused import parse_entry

    todo = []
    for i, q in enumerate(queries):
        if q.text or q.image is not None:
            spec, modality = parse_entry(q.encoder) if q.encoder else (None, None)
            todo.append((i, replace(q, encoder=spec, modality=modality or q.modality)))
    got = search_batch(corpus, [q for _, q in todo], attach=False)  # ids and scores suffice
    hits: list[list[Any]] = [[] for _ in queries]
    for (i, _), h in zip(todo, got, strict=True):
        hits[i] = h
    return hits


def _fused(corpus: Corpus, queries: list[Any], encoders: list[str]) -> list[list[Any]]:
    from dataclasses import replace

    from plait.retrieval import Searcher, search_fused

    s = Searcher(corpus)
    out: list[list[Any]] = []
    for q in queries:
        if not q.text:  # an empty query (nothing transcribed) finds nothing
            out.append([])
            continue
        out.append(search_fused(corpus, replace(q, encoder=None), encoders, searcher=s, depth=q.k))
    return out


def run_benchmark(
    corpus: Corpus,
    bench: Benchmark,
    encoder: str,
    *,
    depth: int = 100,
    tasks: list[str] | None = None,
    where: str | None = None,
    instructions: bool = True,
    limit: int | None = None,
) -> EvalResult:
    """Search every query of ``bench`` (bound to ``corpus``) with ``encoder`` and score it.

    ``where`` narrows the searched samples (for caption sets it defaults to the
    benchmark's dataset, so train images in the same corpus do not compete);
    ``limit`` keeps the first queries of each task (for smoke runs).
    """
    if not bench.bound:
        raise ConfigError("bind the benchmark to the corpus first (plait.eval.bind.bind)")
    if where is None and bench.kind == CAPTIONS and bench.notes.get("dataset"):
        where = f"source.dataset = {sql_str(bench.notes['dataset'])}"
    # sounds, stamps: only the benchmark's own items count; they are kept after the search
    # (as an id list they would make a long SQL filter), which reads deeper to make up
    pool = set(bench.notes.get("pool") or [])
    if where is None and bench.notes.get("where"):
        where = bench.notes["where"]
    chosen = [bench.task(t) for t in tasks] if tasks else bench.tasks
    results = []
    for task in chosen:
        if limit is not None:
            task = Task(
                task.name,
                task.queries[:limit],
                {q.id: task.qrels[q.id] for q in task.queries[:limit]},
                task.target,
                task.slots,
                task.kind,
            )
        reach = depth * 4 if pool else depth
        queries = build_queries(
            task, corpus, encoder, reach, where=where, instructions=instructions
        )
        if "+" in encoder:  # several tables fused by rank (plait.retrieval.fused)
            hits = _fused(corpus, queries, encoder.split("+"))
        else:
            hits = _searched(corpus, queries)
        if pool:
            hits = [[h for h in found if h.sample_id in pool][:depth] for found in hits]
        results.append(
            score_task(task, hits_to_run(task, hits), bench.kind, pool_size(bench, task), depth)
        )
    return EvalResult(bench.summary(), encoder, depth, results)

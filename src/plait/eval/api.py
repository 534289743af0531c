"""The two things ``plait eval`` does, as library calls.

- :func:`eval_files`: score a TREC run file against TREC qrels (the trec_eval
  use case: any system's results, same metrics).
- :func:`eval_benchmark`: load a benchmark, bind it to a corpus, search every
  query with an encoder, score, write JSON, a plot and TREC run/qrels files,
  and record the run in the corpus's ``runs`` table.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plait.errors import ConfigError
from plait.eval import report, trec
from plait.eval.benchmark import Benchmark
from plait.eval.harness import EvalResult, run_benchmark
from plait.eval.metrics import DEFAULT_METRICS, Evaluation, evaluate
from plait.io.corpus import Corpus, slug
from plait.io.runs import Run


def eval_files(
    run_path: str | Path,
    qrels_path: str | Path,
    metrics: list[str] | None = None,
    *,
    relevance_level: int = 1,
    complete: bool = False,
) -> tuple[Evaluation, str]:
    """``(evaluation, run tag)`` of a TREC run file against a TREC qrels file."""
    run, tag = trec.read_run(run_path)
    qrels = trec.read_qrels(qrels_path)
    if not set(run) & set(qrels):
        raise ConfigError(f"{run_path} and {qrels_path} share no query id")
    ev = evaluate(
        run, qrels, metrics or DEFAULT_METRICS, relevance_level=relevance_level, complete=complete
    )
    return ev, tag


@dataclass
class Outputs:
    json: Path | None = None
    plot: Path | None = None
    runs: dict[str, Path] | None = None


def load(corpus: Corpus, benchmark: str, dataset: str | None = None, **opts: Any) -> Benchmark:
    """A benchmark bound to ``corpus``: ``pairs`` (the corpus's own pairs) or a name/path."""
    from plait.eval import av
    from plait.eval.benchmarks import load_benchmark
    from plait.eval.bind import bind, corpus_pairs

    if benchmark == "pairs":
        return corpus_pairs(corpus, dataset=dataset)
    if av.is_name(benchmark):
        return bind(av.load(benchmark, opts.get("root")), corpus, dataset=dataset)
    return bind(load_benchmark(benchmark, **opts), corpus, dataset=dataset)


def eval_transcripts(
    corpus: Corpus,
    benchmark: str,
    *,
    out: str | Path | None = None,
    dataset: str | None = None,
    root: str | Path | None = None,
) -> tuple[Any, Path]:
    """Word error rate of the corpus's transcripts (written by the ``speech`` operator)
    on a speech benchmark (``tuxpaint-speech[:LANG]``, ``fsdd``); writes JSON with
    every item's reference and hypothesis and records the run."""
    from plait.eval import av

    with Run(corpus, "eval", {"benchmark": benchmark, "dataset": dataset}) as rec:
        bench = av.load(benchmark, root)
        if bench.kind != av.SPEECH:
            raise ConfigError(f"{benchmark!r} is not a speech benchmark (fsdd, tuxpaint-speech)")
        cols = ["id", "kind", "texts", "images", "source", "stats"]
        score = av.score_speech(bench, corpus.read("samples", columns=cols).to_pylist(), dataset)
        folder = Path(out) if out else corpus.path / "eval" / f"{slug(bench.name)}-{rec.run_id}"
        path = report.write_json(folder / "results.json", score.to_dict(per_item=True))
        rec.counts.update(score.to_dict())
    return score, path


def eval_benchmark(
    corpus: Corpus,
    benchmark: str,
    encoder: str,
    *,
    out: str | Path | None = None,
    dataset: str | None = None,
    depth: int = 100,
    tasks: list[str] | None = None,
    limit: int | None = None,
    instructions: bool = True,
    loader_opts: dict[str, Any] | None = None,
) -> tuple[EvalResult, Outputs]:
    """Run ``benchmark`` on ``corpus`` with ``encoder``; ``out`` is a folder for the files.

    Without ``out`` the files go to ``CORPUS/eval/<benchmark>-<encoder>-<run id>/``.
    """
    params = {
        "benchmark": benchmark,
        "encoder": encoder,
        "dataset": dataset,
        "depth": depth,
        "tasks": tasks,
        "limit": limit,
        "instructions": instructions,
        **(loader_opts or {}),
    }
    with Run(corpus, "eval", {k: v for k, v in params.items() if v is not None}) as rec:
        bench = load(corpus, benchmark, dataset, **(loader_opts or {}))
        result = run_benchmark(
            corpus, bench, encoder, depth=depth, tasks=tasks, limit=limit, instructions=instructions
        )
        result.run_id = rec.run_id
        result.seconds = rec.elapsed
        # beside the corpus, or (a corpus on object storage) under ./eval here
        home = Path("eval") if corpus.remote else corpus.path / "eval"
        folder = Path(out) if out else home / f"{slug(bench.name)}-{slug(encoder)}-{rec.run_id}"
        runs: dict[str, Path] = {}
        outs = Outputs(runs=runs)
        for t in result.tasks:
            tag = slug(encoder)
            runs[t.task] = trec.write_run(folder / f"{slug(t.task)}.run", t.run, tag=tag)
            trec.write_qrels(folder / f"{slug(t.task)}.qrels", t.qrels)
        outs.json = report.write_json(folder / "results.json", result.to_dict())
        outs.plot = report.plot_curves(
            folder / "recall_at_k.png",
            {t.task: t.curve for t in result.tasks},
            f"{bench.name} / {encoder}",
        )
        rec.counts.update(
            {
                t.task: {**t.evaluation.mean, "queries": t.evaluation.num_queries}
                for t in result.tasks
            }
        )
        rec.counts["out"] = str(folder)
    return result, outs

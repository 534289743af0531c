"""``plait eval``: score TREC files, or run a benchmark on a corpus."""

from __future__ import annotations

from pathlib import Path

import typer

from plait.cli._util import console, print_json
from plait.errors import ConfigError


def _is_speech(benchmark: str) -> bool:
    return benchmark == "fsdd" or benchmark.partition(":")[0] == "tuxpaint-speech"


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_cmd)


def eval_cmd(
    corpus: str = typer.Argument(
        None, help="Corpus directory or s3:// URI (not needed with --run/--qrels)."
    ),
    benchmark: str = typer.Option(
        None,
        help="flickr8k, pairs (the corpus's own pairs), tuxpaint-sounds, tuxpaint-spoken, "
        "the speech (WER) sets tuxpaint-speech[:LANG] and fsdd, or a path: caption TSV, "
        "Karpathy JSON, M-BEIR queries JSONL, MMDocIR-style questions.",
    ),
    encoder: str = typer.Option(
        None,
        help="Encoder spec whose embeddings are searched (see `plait embed`); SPEC@modality "
        "picks its slots, A+B fuses tables by rank (minilm+yamnet@audio).",
    ),
    run: Path = typer.Option(
        None, "--run", help="A TREC run file to score (qid Q0 docid rank score tag)."
    ),
    qrels: Path = typer.Option(None, "--qrels", help="TREC qrels for --run (qid 0 docid rel)."),
    out: Path = typer.Option(
        None, help="Benchmark: output folder (JSON, plot, run files). --run: JSON file."
    ),
    dataset: str = typer.Option(None, help="Dataset name the benchmark items were ingested under."),
    pool: Path = typer.Option(None, help="M-BEIR: candidate pool JSONL."),
    instructions: Path = typer.Option(None, help="M-BEIR: query instructions TSV."),
    image_root: Path = typer.Option(
        None, help="Folder that benchmark image paths are relative to."
    ),
    split: str = typer.Option(None, help="Karpathy JSON: which split (default test)."),
    depth: int = typer.Option(100, help="Hits retrieved per query."),
    task: list[str] = typer.Option(
        None, "--task", help="Only these tasks (t2i, i2t, ...); repeatable."
    ),
    limit: int = typer.Option(None, help="Only the first N queries of each task (smoke runs)."),
    metric: list[str] = typer.Option(
        None, "--metric", help="--run: metrics to compute, e.g. ndcg@20; repeatable."
    ),
    relevance_level: int = typer.Option(
        1, help="--run: lowest grade that counts as relevant (trec_eval -l)."
    ),
    complete: bool = typer.Option(
        False,
        "--complete",
        help="--run: count qrels queries missing from the run as 0 (trec_eval -c).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    questions: Path = typer.Option(
        None, "--questions", help="rag: question JSONL (question, answers, sources, images)."
    ),
    generator: str = typer.Option("extractive", "--generator", help="rag: generator spec."),
    k: int = typer.Option(5, "-k", help="rag: sources per answer and retrieval depth."),
) -> None:
    """Score retrieval with trec_eval's conventions: TREC files, or a benchmark run on a corpus.

    R@k is TREC recall (relevant found in the top k / all relevant); S@k is success (any
    relevant in the top k: the "R@k" of image-text papers and M-BEIR).

    With ``--benchmark rag --questions Q.jsonl`` it answers each question and scores the
    answers (EM, F1, source recall, citations, abstention, images; see plait.eval.rag).

    Example: plait eval ./corpus --benchmark flickr8k --encoder lit:flickr
    """
    from plait.eval import report

    if benchmark == "rag":
        _rag(corpus, questions, generator, k, limit, out, as_json)
        return
    if run is not None or qrels is not None:
        if run is None or qrels is None:
            raise ConfigError("--run and --qrels go together")
        from plait.eval.api import eval_files

        ev, tag = eval_files(
            run, qrels, metric or None, relevance_level=relevance_level, complete=complete
        )
        if out:
            report.write_json(
                out, {"run": str(run), "qrels": str(qrels), "tag": tag, **ev.to_dict()}
            )
        if as_json:
            print_json(
                {
                    "run": str(run),
                    "tag": tag,
                    **{k: v for k, v in ev.to_dict().items() if k != "per_query"},
                }
            )
            return
        cols = [(m, m) for m in ev.metrics] if metric else None
        console.print(
            report.table(
                f"{run.name} ({tag})", {"all": ev.mean}, {"all": ev.num_queries}, columns=cols
            )
        )
        if ev.missing:
            note = "counted as 0" if complete else "skipped, as trec_eval does without -c"
            console.print(
                f"[yellow]{len(ev.missing):,} qrels queries have no results in the run ({note})[/]"
            )
        return
    if corpus is not None and benchmark is not None and _is_speech(benchmark):
        from plait.eval.api import eval_transcripts
        from plait.io.corpus import Corpus

        score, path = eval_transcripts(Corpus.open(corpus), benchmark, out=out, dataset=dataset)
        if as_json:
            print_json(score.to_dict())
            return
        console.print(
            f"[bold]{score.name}[/]: WER {100 * score.wer:.1f}% "
            f"({100 * score.wer_no_articles:.1f}% without a/an/the) over {score.items:,} recordings "
            f"({score.words:,} reference words, {score.edits:,} edits; "
            f"{score.empty:,} with no transcript; {score.missing:,} not in the corpus); wrote {path}"
        )
        return
    if corpus is None or benchmark is None or encoder is None:
        raise ConfigError("give CORPUS --benchmark NAME --encoder SPEC, or --run RUN --qrels QRELS")
    from plait.eval.api import eval_benchmark
    from plait.io.corpus import Corpus

    opts = {
        k: v
        for k, v in {
            "pool": pool,
            "instructions": instructions,
            "image_root": image_root,
            "split": split,
        }.items()
        if v is not None
    }
    result, outs = eval_benchmark(
        Corpus.open(corpus),
        benchmark,
        encoder,
        out=out,
        dataset=dataset,
        depth=depth,
        tasks=task or None,
        limit=limit,
        loader_opts=opts,
    )
    if as_json:
        print_json(result.to_dict())
        return
    means = {t.task: t.evaluation.mean for t in result.tasks}
    num = {t.task: t.evaluation.num_queries for t in result.tasks}
    kind = result.benchmark.get("kind")
    console.print(report.table(f"{result.benchmark['name']} / {encoder}", means, num, kind))
    chance = ", ".join(f"{t.task} S@10 {100 * t.chance['success@10']:.2f}" for t in result.tasks)
    console.print(f"chance level: {chance}")
    console.print(f"wrote {outs.json}, {outs.plot}; run {result.run_id} ({result.seconds:.1f}s)")


def _rag(
    corpus: str | None,
    questions: Path | None,
    generator: str,
    k: int,
    limit: int | None,
    out: Path | None,
    as_json: bool,
) -> None:
    import json

    from rich.table import Table

    from plait.eval.rag import evaluate

    if corpus is None or questions is None:
        raise ConfigError("--benchmark rag needs CORPUS and --questions QUESTIONS.jsonl")
    res = evaluate(corpus, questions, generator, k=k, limit=limit)
    if out:
        out.write_text(json.dumps(res.to_dict(), indent=1, default=str))
    if as_json:
        print_json({k2: v for k2, v in res.to_dict().items() if k2 != "per_question"})
        return
    t = Table(title=f"rag: {res.name} / {res.generator}", title_justify="left")
    t.add_column("metric")
    t.add_column("value", justify="right")
    t.add_column("questions", justify="right")
    for key, v in res.means.items():
        t.add_row(key, f"{v:.3f}", str(res.counts[key]))
    console.print(t)
    console.print(f"{len(res.per_question)} questions in {res.seconds:.1f} s")

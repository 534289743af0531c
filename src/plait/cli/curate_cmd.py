"""``plait curate``."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path

import typer

from plait.cli._util import console, print_json


def register(app: typer.Typer) -> None:
    app.command("curate")(curate)


def curate(
    corpus: str = typer.Argument(..., help="Corpus directory or s3:// URI."),
    recipe: Path = typer.Argument(..., help="YAML recipe: a list of {op: NAME, ...params}."),
    executor: str = typer.Option(
        "local", help="local (worker processes) or ray (Ray actors; RAY_ADDRESS names a cluster)."
    ),
    workers: int = typer.Option(
        None, help="Worker processes or Ray actors (default: CPUs, max 2)."
    ),
    shard_size: int = typer.Option(1000, help="Samples per shard (the unit of resumable work)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the plan; write nothing."),
    resume: str = typer.Option(None, help="Resume this unfinished run id (default: auto-detect)."),
    fresh: bool = typer.Option(False, "--fresh", help="Ignore unfinished runs; start a new one."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Run a recipe over a corpus: drops go to `rejected`, survivors become the new samples.

    Example: plait curate ./corpus recipes/basic.yaml --workers 2
    """
    from plait.curate import curate as run_curate
    from plait.io.corpus import Corpus
    from plait.progress import bar

    c = Corpus.open(corpus)
    resume_arg: bool | str | None = False if fresh else resume
    quiet = dry_run or as_json
    with nullcontext() if quiet else bar("curate", unit="samples") as shown:
        report = run_curate(
            c,
            recipe,
            executor=executor,
            dry_run=dry_run,
            workers=workers,
            shard_size=shard_size,
            resume=resume_arg,
            progress=shown,
        )
    if as_json:
        print_json(report.to_dict())
        return
    _print_curate(report)


def _print_curate(report) -> None:  # noqa: ANN001 - CurateReport, imported lazily
    from rich.table import Table

    head = "dry run: would run" if report.dry_run else f"run {report.run_id}"
    console.print(
        f"[bold]{head}[/] on {report.samples:,} samples in {report.shards} shards "
        f"({report.executor} executor{', resumed' if report.resumed else ''})"
    )
    t = Table(title="recipe" if report.dry_run else "steps", title_justify="left")
    cols = (
        ("#", "op", "params")
        if report.dry_run
        else ("#", "op", "in", "kept", "dropped", "changed", "seconds")
    )
    for col in cols:
        t.add_column(col)
    if report.dry_run:
        for i, step in enumerate(report.recipe, start=1):
            params = ", ".join(f"{k}={v!r}" for k, v in step.items() if k != "op")
            t.add_row(str(i), step["op"], params)
    else:
        for s in report.steps:
            dropped = ", ".join(f"{r}={n:,}" for r, n in s["dropped"].items())
            flagged = ", ".join(f"{r}={n:,}" for r, n in s.get("would_drop", {}).items())
            if flagged:  # annotate mode: what the step would have dropped
                dropped = ", ".join(x for x in (dropped, f"would drop {flagged}") if x)
            t.add_row(
                str(s["step"]),
                s["op"],
                f"{s['in']:,}",
                f"{s['kept']:,}",
                dropped or "-",
                f"{s.get('changed', 0):,}" if s.get("changed") else "-",
                f"{s['seconds']:.2f}",
            )
    console.print(t)
    for s in [] if report.dry_run else report.steps:
        if s.get("events"):  # model calls, cache hits, failures by reason
            ev = ", ".join(f"{k} {v:,}" for k, v in s["events"].items())
            console.print(f"  step {s['step']} {s['op']}: {ev}", highlight=False)
    if not report.dry_run:
        changed = f", changed {report.replaced:,} (kept in replaced)" if report.replaced else ""
        console.print(
            f"kept {report.kept:,}, rejected {report.rejected:,}{changed} in {report.seconds:.1f} s"
        )

"""``plait curate``, ``plait why``, ``plait restore`` and ``plait audit``."""

from __future__ import annotations

from pathlib import Path

import typer

from plait.cli._util import console, err_console, print_json


def register(app: typer.Typer) -> None:
    app.command("curate")(curate)
    app.command("why")(why)
    app.command("restore")(restore)
    app.command("audit")(audit)


def curate(
    corpus: Path = typer.Argument(..., help="Corpus directory."),
    recipe: Path = typer.Argument(..., help="YAML recipe: a list of {op: NAME, ...params}."),
    executor: str = typer.Option("local", help="local (worker processes) or ray (Ray Data)."),
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
    from plait.io.corpus import Corpus
    from plait.pipeline import curate as run_curate

    c = Corpus.open(corpus)
    resume_arg: bool | str | None = False if fresh else resume
    if dry_run or as_json:
        report = run_curate(
            c,
            recipe,
            executor=executor,
            dry_run=dry_run,
            workers=workers,
            shard_size=shard_size,
            resume=resume_arg,
        )
    else:
        from plait.progress import progress_bar

        plan = run_curate(c, recipe, executor=executor, dry_run=True, shard_size=shard_size)
        with progress_bar(
            "curate", total=plan.samples * plan.stages or None, unit="samples"
        ) as advance:
            report = run_curate(
                c,
                recipe,
                executor=executor,
                workers=workers,
                shard_size=shard_size,
                resume=resume_arg,
                progress=advance,
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
        ("#", "op", "params") if report.dry_run else ("#", "op", "in", "kept", "dropped", "seconds")
    )
    for col in cols:
        t.add_column(col)
    if report.dry_run:
        for i, step in enumerate(report.recipe, start=1):
            params = ", ".join(f"{k}={v!r}" for k, v in step.items() if k != "op")
            t.add_row(str(i), step["op"], params)
    else:
        for s in report.steps:
            dropped = ", ".join(f"{r}={n:,}" for r, n in s["dropped"].items()) or "-"
            t.add_row(
                str(s["step"]),
                s["op"],
                f"{s['in']:,}",
                f"{s['kept']:,}",
                dropped,
                f"{s['seconds']:.2f}",
            )
    console.print(t)
    if not report.dry_run:
        console.print(
            f"kept {report.kept:,}, rejected {report.rejected:,} in {report.seconds:.1f} s"
        )


def why(
    sample_id: str = typer.Argument(..., help="Sample id."),
    corpus: Path = typer.Option(Path("."), "--corpus", "-c", help="Corpus directory."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Print a sample's path through every run: ingested, kept or dropped, restored.

    Example: plait why flickr8k/1000268201_693b08cb0e.jpg --corpus ./corpus
    """
    from plait.io.corpus import Corpus
    from plait.lineage import why as run_why

    lin = run_why(Corpus.open(corpus), sample_id)
    if as_json:
        print_json(lin.to_dict())
        return
    console.print(f"[bold]{lin.sample_id}[/] ({lin.status}) from {lin.dataset}: {lin.uri}")
    for e in lin.events:
        at = str(e.at)[:19] if e.at else "?"
        console.print(
            f"  {at}  {e.command:<8} {e.run_id}: {e.what}", highlight=False, soft_wrap=True
        )
    state = "still in samples" if lin.status == "present" else "in rejected"
    console.print(f"  now: {state}")


def restore(
    corpus: Path = typer.Argument(..., help="Corpus directory."),
    run: str = typer.Option(..., "--run", help="The curate run whose drops to undo."),
) -> None:
    """Move every sample a run dropped back into samples (recorded as a restore run).

    Example: plait restore ./corpus --run curate-20250101-120000-abc123
    """
    from plait.io.corpus import Corpus
    from plait.lineage import restore as run_restore

    rep = run_restore(Corpus.open(corpus), run)
    console.print(f"restored {rep.restored:,} samples dropped by {rep.undone} (run {rep.run_id})")
    for reason, n in rep.by_reason.items():
        console.print(f"  {reason}: {n:,}")


def audit(
    corpus: Path = typer.Argument(..., help="Corpus directory."),
    html: Path = typer.Option(None, "--html", help="Also write a self-contained HTML report here."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
) -> None:
    """Provenance report: sources, licences, languages, drop reasons, duplicate clusters.

    Example: plait audit ./corpus --html audit.html
    """
    from plait.audit import audit as run_audit
    from plait.io.corpus import Corpus

    report = run_audit(Corpus.open(corpus))
    if as_json:
        print_json(report.to_dict())
    else:
        from plait.audit.terminal import print_report

        print_report(report, console)
    if html is not None:
        from plait.audit.html import render_html

        html.write_text(render_html(report), encoding="utf-8")
        err_console.print(f"wrote {html}")

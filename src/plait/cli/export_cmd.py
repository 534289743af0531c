"""``plait export``."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import Any

import typer

from plait.cli._util import console, counts_table, print_json
from plait.io.corpus import Corpus


def register(app: typer.Typer) -> None:
    app.command("export")(export_cmd)


def export_cmd(
    corpus: str = typer.Argument(..., help="Corpus directory or s3:// URI."),
    dest: Path = typer.Argument(..., help="Folder to write shards into (must be empty)."),
    fmt: str = typer.Option(
        "webdataset",
        "--format",
        help="webdataset, parquet, jsonl (OBELICS layout), clips (mp4 + json) or sounds.",
    ),
    where: str = typer.Option(
        None, help="SQL filter over samples columns, e.g. \"source.licence = 'CC-BY-4.0'\"."
    ),
    query: str = typer.Option(
        None, help="A text search query choosing the subset (needs an index)."
    ),
    k: int = typer.Option(1000, help="With --query: how many hits to export."),
    limit: int = typer.Option(None, help="Export at most this many samples."),
    shard_size: int = typer.Option(10_000, help="Records per shard."),
    overwrite: bool = typer.Option(False, help="Write into a non-empty destination."),
    caption: str = typer.Option(
        "first",
        help="The caption a pair is exported with: first, original, best (best_caption's "
        "choice), generated, or mix:P (that fraction of pairs with a generated caption).",
    ),
    progress: bool = typer.Option(True, help="Show a progress bar."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Export a subset as WebDataset shards, Parquet or OBELICS JSONL.

    Example: plait export ./my-corpus ./shards --format webdataset --where "kind = 'pair'"
    """
    from plait.export import export

    c = Corpus.open(corpus)
    q = None
    if query is not None:
        from plait.retrieval import Query

        q = Query(text=query, k=k)
    kwargs: dict[str, Any] = {
        "where": where,
        "query": q,
        "limit": limit,
        "shard_size": shard_size,
        "overwrite": overwrite,
        "caption": caption,
    }
    from plait.progress import bar

    with bar(f"export {fmt}", unit="samples") if progress else nullcontext() as shown:
        report = export(c, dest, fmt, progress=shown, **kwargs)
    if as_json:
        print_json(report.to_dict())
        return
    console.print(
        f"exported [bold]{report.exported:,}[/] records from {report.selected:,} samples into "
        f"{report.shards} shard(s) at [bold]{report.dest}[/] in {report.seconds:.1f}s, run {report.run_id}"
    )
    if report.skipped:
        console.print(counts_table("skipped by reason", report.skipped, "reason"))

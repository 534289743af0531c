"""``plait init`` and ``plait info``."""

from __future__ import annotations

import typer

from plait import schema
from plait.cli._util import console, counts_table, human_bytes, print_json
from plait.io.corpus import Corpus

_RUN_KEYS = ("read", "added", "skipped", "quarantined", "kept", "rejected", "embedded", "dataset")


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("info")(info)


def init(
    corpus: str = typer.Argument(..., help="Directory (or s3://bucket/prefix) to create it in."),
) -> None:
    """Create an empty corpus directory.

    Example: plait init ./my-corpus
    """
    c = Corpus.init(corpus)
    console.print(f"corpus ready at [bold]{c.path}[/]")


def info(
    corpus: str = typer.Argument(..., help="Corpus directory or s3:// URI."),
    runs: int = typer.Option(5, help="How many recent runs to list."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
) -> None:
    """Counts by kind, source and licence; media bytes; quarantine; last runs.

    Example: plait info ./my-corpus --runs 10
    """
    c = Corpus.open(corpus)
    inf = c.info(last_runs=runs)
    if as_json:
        print_json(inf.to_dict())
        return
    total = sum(inf.samples_by_kind.values())
    console.print(
        f"[bold]{c.path}[/]: {total:,} samples, {inf.media:,} media ({human_bytes(inf.media_bytes)})"
    )
    console.print(counts_table("samples by kind", inf.samples_by_kind, "kind"))
    console.print(counts_table("samples by source", inf.samples_by_dataset, "dataset"))
    console.print(counts_table("samples by licence", inf.samples_by_licence, "licence"))
    if inf.quarantine_by_reason:
        console.print(counts_table("quarantine by reason", inf.quarantine_by_reason, "reason"))
    if inf.rejected_by_reason:
        console.print(
            counts_table("rejected by operator and reason", inf.rejected_by_reason, "op: reason")
        )
    if inf.replaced_by_op:
        title = "changed samples (earlier versions kept; plait restore --run puts them back)"
        console.print(counts_table(title, inf.replaced_by_op, "changed by"))
    if inf.embeddings:
        console.print(counts_table("embeddings", inf.embeddings, "encoder", "vectors"))
    if inf.runs:
        from rich.table import Table

        t = Table(title="last runs", title_justify="left")
        for col in ("run", "command", "status", "started", "seconds", "counts"):
            t.add_column(col)
        for r in inf.runs:
            counts = schema.loads(r["counts"])
            short = ", ".join(
                f"{k}={sum(v.values()) if isinstance(v, dict) else v}"
                for k, v in counts.items()
                if k in _RUN_KEYS and v
            )
            t.add_row(
                r["run_id"],
                r["command"],
                r["status"],
                str(r["started_at"])[:19],
                "-" if r["seconds"] is None else f"{r['seconds']:.1f}",
                short[:80],
            )
        console.print(t)

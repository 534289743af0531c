"""``plait index``."""

from __future__ import annotations

import typer

from plait.cli._util import console, print_json
from plait.io.corpus import Corpus


def register(app: typer.Typer) -> None:
    app.command("index")(index_cmd)


def index_cmd(
    corpus: str = typer.Argument(..., help="Corpus directory or s3:// URI."),
    encoder: list[str] = typer.Option(
        None, "--encoder", help="Index only this encoder's table (repeatable)."
    ),
    threshold: int = typer.Option(None, help="Below this many vectors: exact search, no index."),
    index_type: str = typer.Option(None, help="IVF_HNSW_SQ (default), IVF_PQ or IVF_FLAT."),
    storage: str = typer.Option(
        None,
        help="HNSW vectors walked: flat (float, the default for a new index), fp16 or sq8 "
        "(half or 8-bit codes, float re-rank); a different one rebuilds the index.",
    ),
    fulltext: bool = typer.Option(True, help="Build the BM25 full-text index over sample texts."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Build or update the vector index of every embeddings table and the BM25 index.

    Example: plait index ./corpus
    """
    from dataclasses import replace

    from plait.index import VectorIndexConfig, index

    cfg = VectorIndexConfig()
    if threshold is not None:
        cfg = replace(cfg, threshold=threshold)
    if index_type is not None:
        cfg = replace(cfg, index_type=index_type.upper())
    if storage is not None:
        cfg = replace(cfg, storage=storage.lower())
    report = index(Corpus.open(corpus), encoders=encoder or None, config=cfg, fulltext=fulltext)
    if as_json:
        print_json(report.to_dict())
        return
    for name, v in report.vectors.items():
        console.print(f"{name}: {v['action']} ({v['rows']:,} vectors, {v['index']})")
    if report.fulltext:
        console.print(
            f"full text: {report.fulltext['action']} ({report.fulltext['rows']:,} samples, BM25)"
        )
    console.print(f"done in {report.seconds:.1f} s")

"""``plait align``."""

from __future__ import annotations

from pathlib import Path

import typer

from plait.cli._util import console, counts_table, print_json
from plait.io.corpus import Corpus


def register(app: typer.Typer) -> None:
    app.command("align")(align)


def align(
    corpus: Path = typer.Argument(..., help="Corpus directory."),
    image: str = typer.Option("effnet-lite0", help="Frozen image tower."),
    text: str = typer.Option("minilm", help="Frozen text tower."),
    name: str = typer.Option("default", help="Adapter name; embed with --encoder lit:NAME."),
    where: str | None = typer.Option(None, help="SQL filter: which samples' pairs to train on."),
    lang: list[str] = typer.Option(
        None,
        "--lang",
        help="Only captions in this language: their tag, else the language language_id "
        "detected for the sample (repeat; 'none' = captions of unknown language). "
        "An English text tower wants --lang en.",
    ),
    holdout: float = typer.Option(0.1, help="Fraction of images held out to report recall."),
    steps: int = typer.Option(500, help="Optimiser steps per seed."),
    seeds: int = typer.Option(5, help="Ensemble size."),
    refit: bool = typer.Option(
        True, help="Retrain on all pairs after measuring on the held-out split."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Train LiT-style projection heads on the corpus's image-text pairs (frozen towers).

    Example: plait align ./my-corpus --image effnet-lite0 --text minilm --name flickr --lang en
    """
    from plait.align import TrainConfig
    from plait.align import align as run_align
    from plait.progress import bar

    c = Corpus.open(corpus)
    with bar("align") as tick:
        rep = run_align(
            c,
            image=image,
            text=text,
            name=name,
            where=where,
            langs=[None if x.lower() == "none" else x for x in lang] if lang else None,
            holdout=holdout,
            refit=refit,
            config=TrainConfig(steps=steps, seeds=seeds),
            progress=tick,
        )
    if as_json:
        print_json({**rep.__dict__, "path": str(rep.path)})
        return
    console.print(
        f"adapter [bold]lit:{rep.name}[/] saved to {rep.path}: {rep.images:,} images, "
        f"{rep.captions:,} captions ({rep.heldout_images:,} images held out)"
    )
    if rep.metrics:
        console.print(
            counts_table(
                "held-out retrieval recall (%)",
                {k: f"{v:.1f}" for k, v in rep.metrics.items()},
                "metric",
                "value",
            )
        )

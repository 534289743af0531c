"""``plait align``."""

from __future__ import annotations

from dataclasses import asdict

import typer
from rich.table import Table

from plait.cli._util import console, counts_table, print_json
from plait.encoders.towers import DEFAULT_RECIPE, DEFAULT_TEXT
from plait.io.corpus import Corpus


def register(app: typer.Typer) -> None:
    app.command("align")(align)


def align(
    corpus: str = typer.Argument(..., help="Corpus directory or s3:// URI."),
    image: str = typer.Option(
        DEFAULT_RECIPE,
        help="Frozen image towers, as a recipe: TOWER[+TOWER...][@VIEW,...], a TOWER being "
        "NAME or NAME[part,...] (effnet-lite0/1/2; parts pooled, stages, logits; default "
        "pooled,stages); the view flip averages in the mirrored image. "
        "effnet-lite0 alone is 3-4x cheaper and a few recall points lower.",
    ),
    text: str = typer.Option(
        DEFAULT_TEXT,
        help="Frozen text tower: minilm (its pooled output), minilm?layers=4,5,6 (the mean "
        "of those layers) or minilm?layers=4,5,6&join=concat (each layer pooled, side by side).",
    ),
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
    seeds: int = typer.Option(
        5, help="Ensemble size (heads trained with different seeds; the vector is 256 x seeds)."
    ),
    hub_k: int = typer.Option(
        10,
        help="Hubness prior: text queries score an image less the more it resembles its K "
        "nearest training captions (querybank normalisation); 0 turns it off.",
    ),
    hub_weight: float = typer.Option(0.5, help="How much of that resemblance a score loses."),
    refit: bool = typer.Option(
        True, help="Retrain on all pairs after measuring on the held-out split."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Train LiT-style projection heads on the corpus's image-text pairs (frozen towers).

    Example: plait align ./my-corpus --image effnet-lite2+effnet-lite0 --name flickr --lang en
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
            config=TrainConfig(steps=steps, seeds=seeds, hub_k=hub_k, hub_weight=hub_weight),
            progress=tick,
        )
    if as_json:
        print_json({**asdict(rep), "path": str(rep.path)})
        return
    console.print(
        f"adapter [bold]lit:{rep.name}[/] ({rep.image} + {text}) saved to {rep.path}: "
        f"{rep.images:,} images, {rep.captions:,} captions "
        f"({rep.heldout_images:,} images held out)"
    )
    if len(rep.langs) > 1:
        shown = ", ".join(f"{k} {v:,}" for k, v in list(rep.langs.items())[:5])
        more = f" and {len(rep.langs) - 5} more" if len(rep.langs) > 5 else ""
        hint = "" if lang else f"; if {text} reads one language, train with --lang (e.g. en)"
        console.print(f"captions in {len(rep.langs)} languages: {shown}{more}{hint}")
    t = Table(title="frozen features (cached in the corpus)", title_justify="left")
    for col in ("cache table", "dim", "reused", "computed", "seconds"):
        t.add_column(col, justify="left" if col == "cache table" else "right")
    for u in rep.features:
        t.add_row(u.table, str(u.dim), f"{u.reused:,}", f"{u.computed:,}", f"{u.seconds:.1f}")
    console.print(t)
    sec = rep.seconds
    console.print(
        f"wall time {sec['total']:.1f} s: features {sec['features']:.1f} s, "
        f"training {sec['train']:.1f} s"
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

"""``plait embed``."""

from __future__ import annotations

import typer

from plait.cli._util import console, counts_table, print_json
from plait.io.corpus import Corpus


def register(app: typer.Typer) -> None:
    app.command("embed")(embed)


def embed(
    corpus: str = typer.Argument(..., help="Corpus directory or s3:// URI."),
    encoder: str = typer.Option(
        ...,
        "--encoder",
        "-e",
        help="Encoder spec: minilm, effnet-lite0, hf:PATH, open_clip:ARCH/TAG, lit:NAME.",
    ),
    modality: str | None = typer.Option(None, help="Only 'image', 'text' or 'audio' slots."),
    where: str | None = typer.Option(None, help="SQL filter over sample columns."),
    lang: list[str] = typer.Option(
        None,
        "--lang",
        help="Only text slots in this language: their tag, else the language language_id "
        "detected for the sample (repeat; 'none' = slots of unknown language).",
    ),
    batch_size: int = typer.Option(32, help="Items per model forward."),
    executor: str = typer.Option("local", help="local or ray."),
    workers: int = typer.Option(2, help="Decode threads (local) or actors (ray)."),
    as_json: bool = typer.Option(False, "--json", help="Print the counts as JSON."),
) -> None:
    """Embed every slot the encoder can read; reruns embed only new or changed content.

    Example: plait embed ./my-corpus --encoder minilm
    """
    from plait.embed import embed as run_embed
    from plait.progress import bar

    c = Corpus.open(corpus)
    with bar(f"embed {encoder}", unit="slots") as tick:
        counts = run_embed(
            c,
            encoder,
            modality=modality,
            where=where,
            batch_size=batch_size,
            executor=executor,
            workers=workers,
            progress=tick,
            langs=[None if x.lower() == "none" else x for x in lang] if lang else None,
        )
    if as_json:
        print_json(counts)
        return
    shown = {k: v for k, v in counts.items() if not isinstance(v, dict)}
    shown.update({f"failed: {k}": v for k, v in counts.get("failed", {}).items()})
    console.print(counts_table(f"embed {encoder}", shown, "what", "value"))
    if counts.get("unknown_lang"):
        console.print(
            f"{counts['unknown_lang']:,} text slots were left out: no language tag and no "
            "detected language. Run a recipe with language_id (mode: annotate) to detect "
            "them, or add --lang none to embed them."
        )

"""``plait search``."""

from __future__ import annotations

from pathlib import Path

import typer

from plait.cli._util import console, print_json
from plait.errors import ConfigError
from plait.io.corpus import Corpus


def register(app: typer.Typer) -> None:
    app.command("search")(search_cmd)


def search_cmd(
    corpus: str = typer.Argument(..., help="Corpus directory or s3:// URI."),
    text: str = typer.Argument(
        None, help="Query text (with --image: how the result should differ)."
    ),
    image: Path = typer.Option(None, "--image", help="Query image file."),
    like: str = typer.Option(None, "--like", help="More like this sample id."),
    where: str = typer.Option(
        None, "--where", help="SQL over sample columns, e.g. \"source.licence = 'MIT'\"."
    ),
    modality: str = typer.Option(
        None, "--modality", help="Match only image, text or audio (sound) slots."
    ),
    kind: str = typer.Option(
        None, "--kind", help="Only samples of this kind (pair, document, page, ...)."
    ),
    k: int = typer.Option(10, "-k", help="How many hits (the maximum, with --adaptive)."),
    encoder: list[str] = typer.Option(
        None,
        "--encoder",
        help="Encoder spec (default: the corpus's best). Repeat it to fuse several tables "
        "by rank, SPEC@modality choosing their slots: --encoder minilm --encoder yamnet@audio.",
    ),
    hybrid: bool = typer.Option(False, "--hybrid", help="Fuse BM25 and vector ranks (RRF, k=60)."),
    fulltext: bool = typer.Option(False, "--fulltext", help="BM25 only."),
    adaptive: bool = typer.Option(
        False, "--adaptive", help="Cut the list where relevance falls off."
    ),
    rollup: bool = typer.Option(True, help="One hit per sample; pages roll up to their document."),
    text_weight: float = typer.Option(
        0.5, help="Composed queries: weight of the text against the image."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print hits as JSON."),
) -> None:
    """Search a corpus by text, image, image plus text, or sample; vector, BM25 or hybrid;
    several encoders fused (clips through keyframes, transcripts and sound at once).

    Example: plait search ./corpus "a dog running on the beach" -k 5 --hybrid
    """
    from plait.retrieval import Query, search, search_fused

    if image is not None and not image.is_file():
        raise ConfigError(f"query image {image} is not a file")
    q = Query(
        text=text,
        image=image.read_bytes() if image is not None else None,
        like=like,
        where=where,
        modality=modality,
        kind=kind,
        k=k,
        encoder=encoder[0] if encoder and len(encoder) == 1 else None,
        hybrid=hybrid,
        adaptive=adaptive,
        rollup=rollup,
        fulltext=fulltext,
        text_weight=text_weight,
    )
    c = Corpus.open(corpus)
    hits = search_fused(c, q, encoder) if encoder and len(encoder) > 1 else search(c, q)
    if as_json:
        print_json([h.to_dict() for h in hits])
        return
    from rich.table import Table

    t = Table(title=f"{len(hits)} hits", title_justify="left")
    for col in ("#", "sample", "kind", "time", "score", "parts", "text"):
        t.add_column(col, justify="right" if col in ("#", "score") else "left")
    for i, h in enumerate(hits, 1):
        parts = ", ".join(f"{name}={v:.4g}" for name, v in h.parts.items())
        if h.pages:
            parts += f"; pages: {', '.join(h.pages[:3])}"
        snippet = (h.sample.text if h.sample else "")[:80].replace("\n", " ")
        when = f"{h.time[0]:.2f}-{h.time[1]:.2f}s" if h.time else ""
        t.add_row(str(i), h.sample_id, h.kind, when, f"{h.score:.4f}", parts, snippet)
    console.print(t)

"""``plait ask``."""

from __future__ import annotations

import typer

from plait.cli._util import console, err_console, print_json


def register(app: typer.Typer) -> None:
    app.command("ask")(ask_cmd)


def ask_cmd(
    corpus: str = typer.Argument(
        ..., help="Corpus directory or s3:// URI (embedded and/or indexed)."
    ),
    question: str = typer.Argument(..., help="The question."),
    generator: str = typer.Option(
        "extractive",
        "--generator",
        "-g",
        help="Generator spec: extractive, smollm2, hf:DIR, openai:BASE_URL#MODEL.",
    ),
    k: int = typer.Option(5, "--k", "-k", help="Sources given to the generator, at most."),
    where: str = typer.Option(None, "--where", help="SQL over sample columns."),
    threshold: float = typer.Option(
        0.4, help="Relevance a source needs (0-1) to be given to the generator."
    ),
    rerank: str = typer.Option("lexical", help="Reranker: lexical, score or judge."),
    rollup: bool = typer.Option(True, help="Pages roll up to documents while retrieving."),
    max_new_tokens: int = typer.Option(96, help="Longest answer, in tokens."),
    as_json: bool = typer.Option(False, "--json", help="Print the answer as JSON."),
) -> None:
    """Answer a question from a corpus, citing its numbered sources (recorded in `answers`).

    Example: plait ask ./corpus "What was the total on the receipt from ABC HO TRADING?"
    """
    from plait.answer import Asker, AskOptions

    opts = AskOptions(
        k=k,
        where=where,
        threshold=threshold,
        rerank=rerank,
        rollup=rollup,
        max_new_tokens=max_new_tokens,
    )
    answer = Asker(corpus, generator).ask(question, opts)
    if as_json:
        print_json(answer.to_dict())
        return
    render(answer)


def render(answer: object) -> None:
    from rich.markup import escape
    from rich.table import Table

    from plait.answer import Answer

    assert isinstance(answer, Answer)
    for s in answer.segments:
        if s.kind == "image":
            console.print(f"  [bold magenta]\\[image {s.n}][/] {escape(s.text)}  ({s.sample_id})")
        elif s.kind == "abstain":
            console.print(f"[yellow]{escape(s.text)}[/]")
        else:
            cites = "".join(f"[{n}]" for n in s.cites)
            console.print(f"{escape(s.text)} [bold cyan]{escape(cites)}[/]")
    if answer.sources:
        t = Table(title="sources", title_justify="left")
        for col in ("#", "sample", "page", "kind", "score", "image", "text"):
            t.add_column(col, justify="right" if col in ("#", "score") else "left")
        for c in answer.sources:
            cited = "*" if c.n in answer.cited else ""
            t.add_row(
                f"{c.n}{cited}",
                escape(c.parent or c.sample_id),
                str(c.page or ""),
                c.kind,
                f"{c.score:.2f}",
                (c.media_id or "")[:12],
                escape(" ".join(c.text.split())[:60]),
            )
        console.print(t)
    cut = len(answer.cut)
    times = ", ".join(f"{k} {v:.2f} s" for k, v in answer.timings.items())
    err_console.print(
        f"[dim]{answer.generator}; {len(answer.sources)} sources given, {cut} cut; {times}[/]"
    )
    for w in answer.warnings:
        err_console.print(f"[yellow]warning:[/] {escape(w)}")

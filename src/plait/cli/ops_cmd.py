"""``plait ops list``, ``plait ops show NAME`` and ``plait ops train-filter``."""

from __future__ import annotations

from pathlib import Path

import typer

from plait.cli._util import console, print_json
from plait.io.where import where_sql


def register(app: typer.Typer) -> None:
    ops = typer.Typer(
        help="Curation operators: list, describe, train a learned filter.", no_args_is_help=True
    )
    ops.command("list")(list_ops)
    ops.command("show")(show)
    ops.command("train-filter")(train_filter)
    app.add_typer(ops, name="ops")


def list_ops(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Every registered operator with its kind and one-line summary.

    Example: plait ops list
    """
    from plait.ops import OPS, describe

    rows = [describe(n) for n in OPS.names()]
    if as_json:
        print_json([{k: r[k] for k in ("name", "kind", "summary", "uses_model")} for r in rows])
        return
    # One line per operator at any width: the summary is cut to fit (`plait ops show NAME`
    # has all of it); a model-backed operator is marked with *.
    kinds = {"deduplicator": "dedup"}
    width = max(40, console.width)
    name_w = max(len(r["name"]) for r in rows) + 2
    console.print(f"{'operator':<{name_w}} {'kind':<6} summary", style="bold", highlight=False)
    for r in rows:
        name = r["name"] + (" *" if r["uses_model"] else "")
        line = f"{name:<{name_w}} {kinds.get(r['kind'], r['kind']):<6} {r['summary'].replace('``', '')}"
        console.print(line if len(line) <= width else line[: width - 1] + "…", highlight=False)
    console.print("* loads a model.  Details and a recipe line: plait ops show NAME", style="dim")


def show(
    name: str = typer.Argument(..., help="Operator name."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """An operator's fields (from its signature), docstring and an example recipe line.

    Example: plait ops show near_dup_image
    """
    import yaml
    from rich.table import Table

    from plait.ops import describe

    d = describe(name)
    if as_json:
        print_json(d)
        return
    console.print(
        f"[bold]{d['name']}[/] ({d['kind']}{', uses a model' if d['uses_model'] else ''})"
    )
    console.print(d["doc"], highlight=False, markup=False)
    t = Table(title="fields", title_justify="left")
    for col in ("field", "type", "default"):
        t.add_column(col)
    for f in d["fields"]:
        t.add_row(f["name"], str(f["type"]), "(required)" if f["required"] else repr(f["default"]))
    console.print(t)
    console.print("recipe step:", highlight=False)
    console.print(
        yaml.safe_dump([d["example"]], sort_keys=False).rstrip(), highlight=False, markup=False
    )


def train_filter(
    corpus: str = typer.Argument(..., help="Corpus directory or s3:// URI."),
    name: str = typer.Argument(..., help="Name to save the filter under (CORPUS/filters/NAME)."),
    encoder: str = typer.Option(..., help="Encoder spec, e.g. effnet-lite0 or lit:NAME."),
    positives: Path | None = typer.Option(None, help="File of positive sample ids, one a line."),
    where: str | None = typer.Option(None, help="SQL over samples selecting the positives."),
    negatives: int = typer.Option(500, help="How many random corpus samples to use as negatives."),
    modality: str = typer.Option("image", help="Embed the samples' images or texts."),
    seed: int = typer.Option(0, help="Seed for drawing negatives."),
) -> None:
    """Train a learned quality filter on a reference set and save it in the corpus.

    Example: plait ops train-filter ./corpus hq --encoder effnet-lite0 --where "source.dataset = 'hq'"
    """
    from plait.errors import ConfigError
    from plait.io.corpus import Corpus
    from plait.io.runs import Run
    from plait.ops.filters.learned import train_filter as train

    c = Corpus.open(corpus)
    if (positives is None) == (where is None):
        raise ConfigError("give exactly one of --positives FILE or --where SQL")
    ids = (
        [ln.strip() for ln in positives.read_text().splitlines() if ln.strip()]
        if positives
        else sorted(c.ids("samples", where=where_sql(where)))
    )
    params = {
        "name": name,
        "encoder": encoder,
        "positives": len(ids),
        "negatives": negatives,
        "modality": modality,
        "seed": seed,
    }
    with Run(c, "ops-train-filter", params) as run:
        cfg = train(c, name, encoder, ids, negatives=negatives, modality=modality, seed=seed)
        run.counts.update(
            {"positives": cfg.n_pos, "negatives": cfg.n_neg, "train_accuracy": cfg.train_accuracy}
        )
    console.print(
        f"saved filter [bold]{name}[/]: {cfg.n_pos} positives, {cfg.n_neg} negatives, "
        f"{cfg.dim}-d {cfg.modality} features from {cfg.encoder}, train accuracy {cfg.train_accuracy:.3f}"
    )

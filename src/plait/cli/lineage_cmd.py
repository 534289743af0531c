"""``plait why`` and ``plait restore``: a sample's path through the runs, and undoing a run."""

from __future__ import annotations

import typer

from plait.cli._util import console, print_json


def register(app: typer.Typer) -> None:
    app.command("why")(why)
    app.command("restore")(restore)


def why(
    corpus: str = typer.Argument(..., help="Corpus directory or s3:// URI."),
    sample_id: str = typer.Argument(..., help="Sample id."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Print a sample's path through every run: ingested, changed, kept or dropped, restored.

    Example: plait why ./corpus test/1000268201_693b08cb0e.jpg
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
    for v in lin.versions:  # what the changes replaced, so the reader sees what went
        slots = [
            f"[{lang or '?'}] {t}" if t is not None else f"<image {m[:12]}>"
            for t, m, lang in zip(v["texts"], v["images"], v["langs"] or [None] * len(v["texts"]))
        ]
        back = f", put back by {v['restored_by']}" if v["restored_by"] else ""
        line = " | ".join(slots)
        console.print(
            f"  before {v['replaced_by']} ({v['op']}{back}): {len(slots)} slots: "
            f"{line[:300]}{'...' if len(line) > 300 else ''}",
            highlight=False,
            soft_wrap=True,
            markup=False,
        )
    for g in lin.generated:
        params = ", ".join(f"{k}={v}" for k, v in (g.get("params") or {}).items())
        console.print(
            f"  slot {g['slot']} ({g.get('op')}, {g.get('generator')}, prompt "
            f"{g.get('template')} {g.get('prompt')}, from slot {g.get('from')}; {params}): "
            f"{g['text']!r}",
            highlight=False,
            soft_wrap=True,
            markup=False,
        )


def restore(
    corpus: str = typer.Argument(..., help="Corpus directory or s3:// URI."),
    run: str = typer.Option(..., "--run", help="The run whose drops and changes to undo."),
) -> None:
    """Undo a run: the samples it dropped come back, the samples it changed get their
    earlier version back (recorded as a restore run). Refused while a later run changed
    the same samples: restore that one first.

    Example: plait restore ./corpus --run curate-20250101-120000-abc123
    """
    from plait.io.corpus import Corpus
    from plait.lineage import restore as run_restore

    rep = run_restore(Corpus.open(corpus), run)
    console.print(f"restored {rep.restored:,} samples dropped by {rep.undone} (run {rep.run_id})")
    if rep.reverted:
        console.print(f"put back {rep.reverted:,} samples to the version {rep.undone} replaced")
    for reason, n in rep.by_reason.items():
        console.print(f"  {reason}: {n:,}")

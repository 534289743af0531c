"""``plait audit``."""

from __future__ import annotations

from pathlib import Path

import typer

from plait.cli._util import console, err_console, print_json


def register(app: typer.Typer) -> None:
    app.command("audit")(audit)


def audit(
    corpus: str = typer.Argument(..., help="Corpus directory or s3:// URI."),
    html: Path = typer.Option(None, "--html", help="Also write a self-contained HTML report here."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
) -> None:
    """Provenance report: sources, licences, languages, drop reasons, duplicate clusters.

    Example: plait audit ./corpus --html audit.html
    """
    from plait.audit import audit as run_audit
    from plait.io.corpus import Corpus

    report = run_audit(Corpus.open(corpus))
    if as_json:
        print_json(report.to_dict())
    else:
        from plait.audit.terminal import print_report

        print_report(report, console)
    if html is not None:
        from plait.audit.html import render_html

        html.write_text(render_html(report), encoding="utf-8")
        err_console.print(f"wrote {html}")

"""``plait demo``: the README's main job."""

from __future__ import annotations

import secrets
from pathlib import Path

import typer

from plait.cli._util import console


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


def demo(
    corpus: str = typer.Option(
        "demo-corpus", help="Where to build the demo corpus (a folder, or s3://bucket/prefix)."
    ),
    port: int = typer.Option(8765, help="Port for the web UI."),
    serve: bool = typer.Option(True, help="Serve the UI when the corpus is built."),
    fresh: bool = typer.Option(False, help="Delete the demo corpus and build it again."),
) -> None:
    """Build a corpus from sample data (ingest, curate, align, embed, index), search it, serve it.

    Sample data comes from Debian packages and scikit-image (no network but the package
    registries; `bash scripts/setup.sh` installs them). Rerunning skips finished steps.

    Example: plait demo --corpus ./demo-corpus --port 8765
    """
    from plait.demo import build

    report = build(corpus, log=console.print, fresh=fresh)
    console.print(f"[bold green]demo corpus ready[/] at {report.corpus}")
    if not serve:
        return
    from plait._deps import require

    uvicorn = require("uvicorn", "serve", "plait demo")
    from plait.server.app import create_app

    key = secrets.token_urlsafe(12)
    exports = Path("exports") if "://" in corpus else Path(corpus).parent / "exports"
    app = create_app({"demo": corpus}, api_key=key, export_root=exports)
    console.print(f"web UI: [bold]http://127.0.0.1:{port}/[/]  (API key for export: {key})")
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")

"""``plait serve`` and ``plait export``."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import typer

from plait.cli._util import console, counts_table, err_console, print_json
from plait.errors import ConfigError
from plait.io.corpus import Corpus


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.command("export")(export_cmd)


def serve(
    corpora: list[str] = typer.Argument(
        ..., help="Corpus directories; NAME=PATH names one (default: the folder name)."
    ),
    host: str = typer.Option(
        "127.0.0.1", help="Address to bind; anything but loopback needs --api-key."
    ),
    port: int = typer.Option(8765, help="Port to listen on."),
    api_key: str = typer.Option(
        None,
        envvar="PLAIT_API_KEY",
        help="Key for export and every write; unset: writes are disabled (403).",
    ),
    export_root: Path = typer.Option(
        Path("exports"), help="Exports are written only under this folder."
    ),
    max_upload_mb: float = typer.Option(8.0, help="Largest query image accepted (413 above)."),
    max_page: int = typer.Option(100, help="Most results per page (422 above)."),
) -> None:
    """Serve the HTTP API and web UI over one or more corpora.

    Example: plait serve ./my-corpus --port 8765
    """
    from plait._deps import require

    uvicorn = require("uvicorn", "serve", "plait serve")
    from plait.server.app import create_app

    if not _is_loopback(host) and not api_key:
        raise ConfigError(
            f"binding {host} exposes the corpus beyond this machine: set --api-key first"
        )
    app = create_app(
        corpora,
        api_key=api_key,
        export_root=export_root,
        max_upload_bytes=int(max_upload_mb * 1024 * 1024),
        max_page=max_page,
    )
    url = f"http://{host if ':' not in host else f'[{host}]'}:{port}/"
    names = ", ".join(app.state.plait.corpora)
    console.print(f"serving [bold]{names}[/] at [bold]{url}[/] (API docs: {url}docs)")
    if not api_key:
        err_console.print("writes (export, restore) are disabled: no --api-key or PLAIT_API_KEY")
    uvicorn.run(app, host=host, port=port, log_level="warning")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def export_cmd(
    corpus: Path = typer.Argument(..., help="Corpus directory."),
    dest: Path = typer.Argument(..., help="Folder to write shards into (must be empty)."),
    fmt: str = typer.Option(
        "webdataset", "--format", help="webdataset, parquet or jsonl (OBELICS layout)."
    ),
    where: str = typer.Option(
        None, help="SQL filter over samples columns, e.g. \"source.licence = 'CC-BY-4.0'\"."
    ),
    query: str = typer.Option(
        None, help="A text search query choosing the subset (needs an index)."
    ),
    k: int = typer.Option(1000, help="With --query: how many hits to export."),
    limit: int = typer.Option(None, help="Export at most this many samples."),
    shard_size: int = typer.Option(10_000, help="Records per shard."),
    overwrite: bool = typer.Option(False, help="Write into a non-empty destination."),
    progress: bool = typer.Option(True, help="Show a progress bar."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Export a subset as WebDataset shards, Parquet or OBELICS JSONL.

    Example: plait export ./my-corpus ./shards --format webdataset --where "kind = 'pair'"
    """
    from plait.export import export

    c = Corpus.open(corpus)
    q = None
    if query is not None:
        from plait.server.search import _retrieval

        q = _retrieval().Query(text=query, k=k)
    kwargs = {
        "where": where,
        "query": q,
        "limit": limit,
        "shard_size": shard_size,
        "overwrite": overwrite,
    }
    if progress:
        from plait.progress import progress_bar

        with progress_bar(f"export {fmt}", unit="samples") as advance:
            seen = [0]

            def on_progress(done: int, total: int) -> None:
                advance(done - seen[0])
                seen[0] = done

            report = export(c, dest, fmt, on_progress=on_progress, **kwargs)
    else:
        report = export(c, dest, fmt, **kwargs)
    if as_json:
        print_json(report.to_dict())
        return
    console.print(
        f"exported [bold]{report.exported:,}[/] records from {report.selected:,} samples into "
        f"{report.shards} shard(s) at [bold]{report.dest}[/] in {report.seconds:.1f}s, run {report.run_id}"
    )
    if report.skipped:
        console.print(counts_table("skipped by reason", report.skipped, "reason"))

"""``plait serve``."""

from __future__ import annotations

import json
import os
from pathlib import Path

import typer

from plait.cli._util import console, err_console
from plait.errors import ConfigError


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)


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
    generator: list[str] = typer.Option(
        ["extractive"],
        "--generator",
        help="Generator for /ask and /v1 (repeat to allow several; the first is the default).",
    ),
    allowed_host: list[str] = typer.Option(
        None,
        "--allowed-host",
        help="Host name clients may use besides loopback ones (repeat; e.g. a proxy's name).",
    ),
    workers: int = typer.Option(
        1,
        help="Server processes sharing the port and the index files (each loads the "
        "encoders once; the index vectors are memory-mapped, so their pages are shared).",
    ),
    preload: bool = typer.Option(
        True,
        help="Load the query encoders at start, in the background (--no-preload: on the "
        "first query that needs each).",
    ),
) -> None:
    """Serve the HTTP API and web UI over one or more corpora.

    Example: plait serve ./my-corpus --port 8765
    """
    from plait._deps import require

    uvicorn = require("uvicorn", "serve", "plait serve")
    from plait.server.app import create_app
    from plait.server.guard import is_loopback
    from plait.server.settings import API_KEY_ENV, SETTINGS_ENV

    if not is_loopback(host) and not api_key:
        raise ConfigError(
            f"binding {host} exposes the corpus beyond this machine: set --api-key first"
        )
    if workers < 1:
        raise ConfigError("--workers must be at least 1")
    options = {
        "export_root": str(export_root),
        "max_upload_bytes": int(max_upload_mb * 1024 * 1024),
        "max_page": max_page,
        "generators": list(generator),
        "host": host,
        "allowed_hosts": list(allowed_host or ()),
        "preload": preload,
    }
    app = create_app(corpora, api_key=api_key, **options)  # checks the corpora first
    url = f"http://{host if ':' not in host else f'[{host}]'}:{port}/"
    names = ", ".join(app.state.plait.corpora)
    procs = f", {workers} worker processes" if workers > 1 else ""
    console.print(f"serving [bold]{names}[/] at [bold]{url}[/]{procs} (API docs: {url}docs)")
    if not api_key:
        err_console.print("writes (export, restore) are disabled: no --api-key or PLAIT_API_KEY")
    if workers == 1:
        uvicorn.run(app, host=host, port=port, log_level="warning")
        return
    # each worker builds its own app from the same settings (the key travels in the
    # environment, as PLAIT_API_KEY already does)
    os.environ[SETTINGS_ENV] = json.dumps({"corpora": list(corpora), **options})
    if api_key:
        os.environ[API_KEY_ENV] = api_key
    uvicorn.run(
        "plait.server.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
    )

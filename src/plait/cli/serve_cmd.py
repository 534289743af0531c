"""``plait serve``."""

from __future__ import annotations

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
) -> None:
    """Serve the HTTP API and web UI over one or more corpora.

    Example: plait serve ./my-corpus --port 8765
    """
    from plait._deps import require

    uvicorn = require("uvicorn", "serve", "plait serve")
    from plait.server.app import create_app, is_loopback

    if not is_loopback(host) and not api_key:
        raise ConfigError(
            f"binding {host} exposes the corpus beyond this machine: set --api-key first"
        )
    app = create_app(
        corpora,
        api_key=api_key,
        export_root=export_root,
        max_upload_bytes=int(max_upload_mb * 1024 * 1024),
        max_page=max_page,
        generators=list(generator),
        host=host,
        allowed_hosts=tuple(allowed_host or ()),
    )
    url = f"http://{host if ':' not in host else f'[{host}]'}:{port}/"
    names = ", ".join(app.state.plait.corpora)
    console.print(f"serving [bold]{names}[/] at [bold]{url}[/] (API docs: {url}docs)")
    if not api_key:
        err_console.print("writes (export, restore) are disabled: no --api-key or PLAIT_API_KEY")
    uvicorn.run(app, host=host, port=port, log_level="warning")

"""The ``plait`` command: one typer root, one module per command group.

Each module exposes ``register(app)``. Commands parse arguments, call one
library function and print a summary; they hold no logic of their own. Errors
are translated here, once: a :class:`PlaitError` becomes its message on stderr
and its exit code.
"""

from __future__ import annotations

import importlib
import sys

import typer

from plait.errors import PlaitError

# Command modules, in --help order. Listed explicitly: no import side effects.
_MODULES = (
    "corpus_cmd",
    "ingest_cmd",
    "serve_cmd",
    "export_cmd",
    "index_cmd",
    "search_cmd",
    "ask_cmd",
    "curate_cmd",
    "lineage_cmd",
    "audit_cmd",
    "ops_cmd",
    "embed_cmd",
    "align_cmd",
    "eval_cmd",
    "demo_cmd",
)

app = typer.Typer(
    name="plait",
    help="plait: build, curate, embed, index, search and serve multimodal corpora.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root(
    option: list[str] = typer.Option(
        None,
        "--option",
        "-o",
        help="Object storage option for s3:// corpora, KEY=VALUE: endpoint, region, "
        "access_key_id, secret_access_key, session_token, allow_http (else the usual "
        "AWS_* environment variables), e.g. plait -o endpoint=http://127.0.0.1:9000 "
        "init s3://bucket/corpus",
    ),
) -> None:
    """plait: build, curate, embed, index, search and serve multimodal corpora."""
    from plait.errors import ConfigError
    from plait.io.store import configure

    pairs = {}
    for pair in option or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"storage option {pair!r} is not KEY=VALUE")
        pairs[key] = value
    configure(pairs)


for _name in _MODULES:
    importlib.import_module(f"plait.cli.{_name}").register(app)


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM ends a command like Ctrl-C: its run is "interrupted"


def main(argv: list[str] | None = None) -> None:
    """Entry point: runs the app and turns PlaitError into a message and an exit code."""
    import signal
    import warnings

    signal.signal(signal.SIGTERM, _terminate)
    # plait checks every image's pixel count against its own cap and reports what it
    # refuses (a quarantine reason, a 413): Pillow's bomb warning would only repeat it, raw
    warnings.filterwarnings("ignore", message=r"Image size \(\d+ pixels\) exceeds limit")
    try:
        # outside standalone mode, click returns an exit code (130 for Ctrl-C or SIGTERM,
        # typer.Exit's code) instead of exiting; commands themselves return None
        code = app(args=argv, standalone_mode=False)
        if isinstance(code, int) and not isinstance(code, bool) and code:
            sys.exit(code)
    except PlaitError as exc:
        from rich.console import Console
        from rich.text import Text

        Console(stderr=True, soft_wrap=True).print(
            Text("error: ", style="bold red") + Text(str(exc))
        )
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:  # usage errors from click (typer may vendor its own copy)
        code = getattr(exc, "exit_code", None)
        show = getattr(exc, "show", None)
        if show is not None and isinstance(code, int):
            show()
            sys.exit(code)
        raise

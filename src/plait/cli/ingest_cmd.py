"""``plait ingest``."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import Any

import typer

from plait.cli._util import console, counts_table, human_bytes, print_json
from plait.errors import ConfigError
from plait.ingest import IngestOptions, ingest
from plait.io.corpus import Corpus
from plait.progress import bar


def parse_options(pairs: list[str], what: str = "reader option") -> dict[str, Any]:
    """``KEY=VALUE`` strings to keyword arguments (ints, floats and booleans parsed)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"{what} {pair!r} is not KEY=VALUE")
        low = value.lower()
        parsed: object = value
        if low in ("true", "false"):
            parsed = low == "true"
        else:
            for cast in (int, float):
                try:
                    parsed = cast(value)
                    break
                except ValueError:
                    continue
        out[key.replace("-", "_")] = parsed
    return out


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest_cmd)


def ingest_cmd(
    corpus: str = typer.Argument(..., help="Corpus directory or s3:// URI (created if missing)."),
    source: list[str] = typer.Argument(
        ...,
        help="Folder, table, tar shard(s) like 'shards/{00000..00009}.tar', OBELICS JSONL/Parquet, PDF or PDF folder, video or sound file or folder; several are read in turn.",
    ),
    fmt: str = typer.Option(
        "auto", "--format", help="auto, folder, table, webdataset, documents, pdf, video or audio."
    ),
    dataset: str = typer.Option(
        None, help="Name of this source (default: the folder or file name)."
    ),
    licence: str = typer.Option(None, help="Licence of every sample from this source (SPDX id)."),
    image_root: Path = typer.Option(None, help="Tables: folder that image paths are relative to."),
    workers: int = typer.Option(
        2, help="Threads that read and validate images (Ray: parts read at once)."
    ),
    executor: str = typer.Option(
        "local",
        help="local, or ray: shards and groups of files read in parallel on a Ray cluster "
        "(RAY_ADDRESS, else a local one).",
    ),
    batch_size: int = typer.Option(IngestOptions.batch_size, help="Samples per commit."),
    max_pixels: int = typer.Option(
        IngestOptions.max_pixels,
        help="Images above this pixel count are quarantined (decompression bombs).",
    ),
    reference: bool = typer.Option(
        False, "--reference", help="Store local images by path instead of copying their bytes."
    ),
    option: list[str] = typer.Option(
        None,
        "--option",
        "-o",
        help="Reader option KEY=VALUE, e.g. -o password=secret -o max_side=1600 (PDF).",
    ),
    fetch: list[str] = typer.Option(
        None,
        "--fetch",
        help="URL downloader setting KEY=VALUE, e.g. --fetch workers=32 --fetch timeout=20 "
        "--fetch retries=4 --fetch respect_optout=false (see plait.ingest.fetch.Fetcher).",
    ),
    progress: bool = typer.Option(True, help="Show a progress bar."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Read raw data into a corpus; rerunning adds only what is new.

    Example: plait ingest ./corpus ../shared/data/flickr8k/test.tsv --licence research-only
    """
    opts = IngestOptions(
        batch_size=batch_size, workers=workers, max_pixels=max_pixels, copy_media=not reference
    )
    extra: dict[str, object] = {"image_root": image_root} if image_root else {}
    extra.update(parse_options(option or []))
    fetcher = None
    if fetch:
        from plait.ingest.fetch import Fetcher
        from plait.params import bind

        settings = parse_options(fetch, what="downloader setting")
        bind(Fetcher, settings)  # unknown or mistyped settings fail before anything is read
        fetcher = Fetcher(**settings)
    with bar("ingest") if progress else nullcontext() as shown:
        report = ingest(
            Corpus.init(corpus),
            source[0] if len(source) == 1 else source,
            executor=executor,
            dataset=dataset,
            licence=licence,
            fmt=fmt,
            progress=shown,
            fetcher=fetcher,
            options=opts,
            **extra,
        )
    if as_json:
        print_json(report.to_dict())
        return
    rate = report.read / report.seconds if report.seconds else 0.0
    console.print(
        f"[bold]{report.dataset}[/]: read {report.read:,}, added {report.added:,}, "
        f"skipped {report.skipped:,} already present"
        + (f", completed {report.completed:,} stored incomplete before" if report.completed else "")
        + f", quarantined {sum(report.quarantined.values()):,}"
        + (
            f" ({report.quarantine_cleared:,} earlier failures now read)"
            if report.quarantine_cleared
            else ""
        )
        + "; "
        f"media +{report.media_added:,} ({human_bytes(report.media_bytes)}), "
        f"{report.seconds:.1f}s ({rate:,.1f}/s), run {report.run_id}"
    )
    if report.by_kind:
        console.print(counts_table("added by kind", dict(report.by_kind), "kind"))
    if report.quarantined:
        console.print(counts_table("quarantined by reason", dict(report.quarantined), "reason"))

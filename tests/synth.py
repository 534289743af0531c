"""A synthetic corpus (generated images, captions in three languages, drops, runs) for
tests and benchmarks that must not depend on downloaded data, and the real server run
on a loopback port in a thread. Embed it through the real stage (``plait.embed.embed``)."""

from __future__ import annotations

import io
import random
import socket
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa

from plait import schema
from plait.io.corpus import Corpus
from plait.io.media import sha256

COLOURS = {
    "red": (220, 40, 40),
    "green": (40, 170, 60),
    "blue": (40, 80, 220),
    "yellow": (235, 210, 40),
    "purple": (140, 60, 170),
    "orange": (240, 140, 30),
    "black": (20, 20, 20),
    "white": (245, 245, 245),
}
SHAPES = ("circle", "square", "triangle", "stripe")
LANGS = (
    ("en", "a {c} {s} on a {b} background"),
    ("fr", "un {s} {c} sur fond {b}"),
    ("de", "ein {c} {s} auf {b} Hintergrund"),
)
LICENCES = ("CC-BY-4.0", "CC0-1.0", "unknown")
DROPS = (
    ("caption_length", "too_short"),
    ("nsfw", "unsafe"),
    ("dedup_exact", "duplicate"),
    ("clip_score", "below_threshold"),
)


def draw(colour: str, shape: str, background: str, size: int, fmt: str, jitter: int) -> bytes:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (size, size), COLOURS[background])
    d = ImageDraw.Draw(img)
    a, b = size // 5 + jitter % 7, size - size // 5 - jitter % 5
    fill = COLOURS[colour]
    if shape == "circle":
        d.ellipse((a, a, b, b), fill=fill)
    elif shape == "square":
        d.rectangle((a, a, b, b), fill=fill)
    elif shape == "triangle":
        d.polygon([(size // 2, a), (a, b), (b, b)], fill=fill)
    else:
        for x in range(0, size, 8):
            d.rectangle((x, 0, x + 3, size), fill=fill)
    d.point((jitter % size, (jitter // size) % size), fill=(jitter % 256, 0, 0))  # unique bytes
    buf = io.BytesIO()
    img.save(buf, format=fmt, quality=90) if fmt == "JPEG" else img.save(buf, format=fmt)
    return buf.getvalue()


def add_media(media: dict[str, dict[str, Any]], data: bytes, fmt: str, size: int) -> str:
    mid = sha256(data)
    media[mid] = {
        "id": mid,
        "bytes": data,
        "uri": None,
        "mime": f"image/{fmt.lower()}",
        "width": size,
        "height": size,
        "size": len(data),
    }
    return mid


def synth_corpus(
    path: str | Path,
    n: int = 200,
    *,
    seed: int = 0,
    image_size: int = 64,
    reject_every: int = 10,
    documents_every: int = 15,
    text_every: int = 25,
) -> Corpus:
    """A corpus of ``n`` generated samples: pairs (one caption), two-image documents,
    text-only samples; every ``reject_every``-th sample goes to ``rejected`` with a
    reason, as curation would; ``runs`` rows for the ingest and the curate run."""
    rng = random.Random(seed)
    corpus = Corpus.init(path)
    ingest_run, curate_run = "ingest-synth-0000", "curate-synth-0000"
    start = schema.now() - timedelta(minutes=10)  # runs in the past, as if done earlier
    kept: list[dict[str, Any]] = []
    dropped: list[dict[str, Any]] = []
    media: dict[str, dict[str, Any]] = {}
    for i in range(n):
        lang, tpl = LANGS[i % 3 if i % 7 else 0]
        colour, shape, bg = rng.choice(list(COLOURS)), rng.choice(SHAPES), rng.choice(list(COLOURS))
        caption = tpl.format(c=colour, s=shape, b=bg)
        kind = (
            schema.TEXT
            if i % text_every == text_every - 1
            else (schema.DOCUMENT if i % documents_every == documents_every - 1 else schema.PAIR)
        )
        texts: list[str | None]
        images: list[str | None]
        if kind == schema.TEXT:
            texts, images, langs = [caption], [None], [lang]
        else:
            fmt = "PNG" if i % 4 == 0 else "JPEG"
            mid = add_media(media, draw(colour, shape, bg, image_size, fmt, i), fmt, image_size)
            texts, images, langs = [None, caption], [mid, None], [None, lang]
            if kind == schema.DOCUMENT:
                mid2 = add_media(
                    media,
                    draw(bg, rng.choice(SHAPES), colour, image_size, "JPEG", i + n),
                    "JPEG",
                    image_size,
                )
                texts += [f"Section {i}: more about {shape}s.", None]
                images += [None, mid2]
                langs += [lang, None]
        sample = schema.Sample(
            id=f"synth-{'ab'[i % 2]}/{i:06d}",
            kind=kind,
            texts=texts,
            images=images,
            langs=langs,
            source=schema.Source(
                uri=f"synth://{i}",
                dataset=f"synth-{'ab'[i % 2]}",
                licence=LICENCES[i % 3],
                url=f"https://example.org/{i}.jpg",
            ),
            meta={"index": i},
            stats={"clip_score": round(rng.random(), 3), "caption_words": len(caption.split())},
            run_id=ingest_run,
        )
        row = sample.to_row()
        if reject_every and i % reject_every == reject_every - 1:
            op, reason = DROPS[(i // reject_every) % len(DROPS)]
            dropped.append(
                {
                    **row,
                    "op": op,
                    "reason": reason,
                    "rejected_by": curate_run,
                    "rejected_at": start + timedelta(seconds=1),
                }
            )
        else:
            kept.append(row)
    corpus.append("media", pa.Table.from_pylist(list(media.values()), schema=schema.MEDIA))
    corpus.append("samples", pa.Table.from_pylist(kept, schema=schema.SAMPLES))
    if dropped:
        corpus.append("rejected", pa.Table.from_pylist(dropped, schema=schema.REJECTED))
    corpus.append(
        "quarantine",
        pa.Table.from_pylist(
            [
                {
                    "id": "q0",
                    "location": "synth://broken.jpg",
                    "reason": "corrupt_image",
                    "error": "synthetic",
                    "dataset": "synth-a",
                    "run_id": ingest_run,
                    "at": start,
                }
            ],
            schema=schema.QUARANTINE,
        ),
    )
    runs = []
    for k, (rid, cmd, counts) in enumerate(
        (
            (ingest_run, "ingest", {"added": n}),
            (curate_run, "curate", {"kept": len(kept), "rejected": len(dropped)}),
        )
    ):
        runs.append(
            {
                "run_id": rid,
                "command": cmd,
                "status": "ok",
                "params": schema.dumps({"synthetic": True}),
                "versions": "{}",
                "counts": schema.dumps(counts),
                "started_at": start + timedelta(seconds=k),
                "finished_at": start + timedelta(seconds=k + 1),
                "seconds": 1.0,
            }
        )
    corpus.append("runs", pa.Table.from_pylist(runs, schema=schema.RUNS))
    return corpus


PAGES = (
    "Installing software: apt-get install PACKAGE fetches and installs a package.",
    "Listing packages: dpkg -l shows every installed package and its version.",
    "Networking: ip address shows the addresses of every network interface.",
)
GREETINGS = {
    "en": "a smiling sun",
    "fr": "un soleil souriant",
    "de": "eine lächelnde Sonne",
    "es": "un sol sonriente",
    "it": "un sole sorridente",
    "nl": "een lachende zon",
    "pt": "um sol sorridente",
    "sv": "en leende sol",
    "pl": "uśmiechnięte słońce",
    "fi": "hymyilevä aurinko",
    "da": "en smilende sol",
    "cs": "usměvavé slunce",
}


def add_reference_document(corpus: Corpus, image_size: int = 96) -> str:
    """A document (a PDF as ingest stores it: a title sample and one sample per page, each
    page with its render and its text) and return its id."""
    doc_id = "refcard/debian-refcard.pdf"
    media: dict[str, dict[str, Any]] = {}
    rows = [
        schema.Sample(
            id=doc_id,
            kind=schema.DOCUMENT,
            texts=["Debian Reference Card"],
            images=[None],
            langs=["en"],
            source=schema.Source(uri="synth://refcard.pdf", dataset="refcard", licence="GPL-3.0"),
        ).to_row()
    ]
    for n, text in enumerate(PAGES):
        mid = add_media(
            media, draw("black", SHAPES[n], "white", image_size, "PNG", 900 + n), "PNG", image_size
        )
        rows.append(
            schema.Sample(
                id=f"{doc_id}#page{n + 1}",
                kind=schema.PAGE,
                texts=[None, text],
                images=[mid, None],
                langs=[None, "en"],
                parent=doc_id,
                position=n,
                source=schema.Source(
                    uri="synth://refcard.pdf", dataset="refcard", licence="GPL-3.0"
                ),
            ).to_row()
        )
    corpus.append("media", pa.Table.from_pylist(list(media.values()), schema=schema.MEDIA))
    corpus.append("samples", pa.Table.from_pylist(rows, schema=schema.SAMPLES))
    return doc_id


def add_many_languages(corpus: Corpus, image_size: int = 64) -> str:
    """One image captioned in twelve languages (as a Tux Paint stamp is in 70)."""
    media: dict[str, dict[str, Any]] = {}
    mid = add_media(
        media, draw("yellow", "circle", "blue", image_size, "PNG", 999), "PNG", image_size
    )
    langs = list(GREETINGS)
    sample = schema.Sample(
        id="stamps/sun",
        kind=schema.PAIR,
        texts=[None, *GREETINGS.values()],
        images=[mid, *[None] * len(langs)],
        langs=[None, *langs],
        source=schema.Source(uri="synth://sun.png", dataset="stamps", licence="GPL-2.0"),
    )
    corpus.append("media", pa.Table.from_pylist(list(media.values()), schema=schema.MEDIA))
    corpus.append("samples", pa.Table.from_pylist([sample.to_row()], schema=schema.SAMPLES))
    return sample.id


class ServerThread:
    """Run an app with uvicorn on 127.0.0.1 and a free port, in a daemon thread.

    >>> with ServerThread(create_app("corpus/")) as srv:  # doctest: +SKIP
    ...     httpx.get(srv.url + "api/health")
    """

    def __init__(self, app: Any, host: str = "127.0.0.1") -> None:
        import uvicorn

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://{host}:{self.port}/"
        config = uvicorn.Config(app, log_level="warning", lifespan="on", timeout_keep_alive=30)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()

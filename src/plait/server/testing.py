"""Helpers to run the real server on a loopback port in a thread, and to write a
synthetic corpus (generated images, captions, drops, runs) for tests, benchmarks
and demos that must not depend on downloaded data."""

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


def embed_slots(
    corpus: Corpus, spec: str, *, random_dim: int | None = None, seed: int = 0, batch: int = 256
) -> int:
    """Write ``corpus.embeddings_path(spec)`` for every slot of the encoder's modalities.

    With ``random_dim`` the vectors are random unit vectors (benchmarks that only
    need realistic sizes); otherwise the real encoder from :mod:`plait.encoders`.
    A stand-in until ``plait.embed`` lands; the table follows contract 1.
    """
    import hashlib

    import numpy as np

    from plait.io.media import open_image

    enc = (
        None
        if random_dim
        else __import__("plait.encoders", fromlist=["load_encoder"]).load_encoder(spec)
    )
    modalities = {"text", "image"} if random_dim else set(enc.modalities)
    dim = random_dim or enc.dim
    rng = np.random.default_rng(seed)
    rows: list[tuple[str, int, str, str, Any]] = []  # sample_id, slot, modality, content, payload
    for s in corpus.samples():
        for i, (t, m) in enumerate(zip(s.texts, s.images)):
            if t is not None and "text" in modalities:
                rows.append((s.id, i, "text", hashlib.sha256(t.encode()).hexdigest(), t))
            elif m is not None and "image" in modalities:
                rows.append((s.id, i, "image", m, m))
    sch = schema.embeddings_schema(dim).with_metadata({"encoder": spec})
    path = corpus.embeddings_path(spec)
    path.parent.mkdir(parents=True, exist_ok=True)
    import lance

    for lo in range(0, len(rows), batch):
        chunk = rows[lo : lo + batch]
        if enc is None:
            vecs = rng.standard_normal((len(chunk), dim)).astype("float32")
            vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        else:
            vecs = np.zeros((len(chunk), dim), dtype="float32")
            texts = [(j, r[4]) for j, r in enumerate(chunk) if r[2] == "text"]
            imgs = [(j, r[4]) for j, r in enumerate(chunk) if r[2] == "image"]
            if texts:
                vecs[[j for j, _ in texts]] = enc.encode_text([t for _, t in texts])
            if imgs:
                data = corpus.media_many(m for _, m in imgs)
                vecs[[j for j, _ in imgs]] = enc.encode_images(
                    [open_image(data[m]) for _, m in imgs]
                )
        tbl = pa.Table.from_pydict(
            {
                "sample_id": [r[0] for r in chunk],
                "slot": [r[1] for r in chunk],
                "modality": [r[2] for r in chunk],
                "content": [r[3] for r in chunk],
                "vector": pa.FixedSizeListArray.from_arrays(pa.array(vecs.reshape(-1)), dim),
            },
            schema=sch,
        )
        lance.write_dataset(
            tbl, str(path), schema=sch, mode="append" if path.exists() else "create"
        )
    return len(rows)

"""Load test of ``plait serve``, before and after a change, in one run.

N concurrent clients for T seconds over a synthetic corpus of at least 10k
samples; throughput, errors and p50/p95 latency per query kind. Two servers are
measured in turn on the same corpus with the same clients: ``before``, the code
of ``--baseline`` (a git ref, checked out in a separate ``git worktree``) and
``after``, this checkout (with ``--workers``). Each runs a mixed phase (every
client cycles through every kind) and, for each kind in ``--phases``, a phase in
which every client sends only that kind. As a reference measured in the same
run, each query kind is also timed in-process with no HTTP and no concurrency.
Every search text and query image differs (an image gets trailing bytes), so the
servers' answer caches do not serve them (``--repeat-queries``: a fixed set, which
they do).

    python bench/serve.py --samples 10000 --clients 50 --seconds 30 --baseline main --workers 1,2
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

WORDS = ["red", "green", "blue", "yellow", "purple", "orange", "black", "white"]
SHAPES = ["circle", "square", "triangle", "stripe"]


def random_encoder(name: str, dim: int, seed: int = 0):
    """Random unit vectors of an encoder's size (a load test needs realistic sizes, not
    meaning); it goes through the real ``plait.embed.embed`` like any encoder."""
    import numpy as np

    from plait.encoders.base import BaseEncoder

    rng = np.random.default_rng(seed)

    class RandomEncoder(BaseEncoder):
        modalities = frozenset({"text", "image"})

        def _text_batch(self, texts):
            return rng.standard_normal((len(texts), self.dim))

        def prepare_image(self, image):
            return np.zeros(1, np.float32)  # decoded like a real encoder's input, then unused

        def _image_batch(self, pixels):
            return rng.standard_normal((len(pixels), self.dim))

    enc = RandomEncoder()
    enc.name, enc.dim = name, dim
    return enc


def build(path: Path, n: int, real: bool) -> None:
    from plait.embed import embed
    from plait.index import index as build_index

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.synth import synth_corpus

    t0 = time.perf_counter()
    corpus = synth_corpus(path, n * 10 // 9 + 1, image_size=48)  # a tenth goes to rejected
    print(
        f"corpus: {corpus.count('samples'):,} samples, {corpus.count('media'):,} media "
        f"in {time.perf_counter() - t0:.1f}s",
        flush=True,
    )
    t0 = time.perf_counter()
    for spec, dim in (("minilm", 384), ("effnet-lite0", 1280)):
        embed(corpus, spec, encoder=None if real else random_encoder(spec, dim))
    print(
        f"embeddings ({'real' if real else 'random unit vectors'}) in {time.perf_counter() - t0:.1f}s",
        flush=True,
    )
    t0 = time.perf_counter()
    rep = build_index(corpus)
    print(
        f"index: {json.dumps(rep.to_dict()['vectors'])} in {time.perf_counter() - t0:.1f}s",
        flush=True,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def plan(corpus_path: Path, distinct: bool) -> tuple[list[str], list[str], list[bytes]]:
    """Sample ids, media ids and the query images: 200 different pictures of the corpus,
    or one picture sent again and again (``distinct`` False: what the answer cache serves)."""
    from plait import Corpus

    c = Corpus(corpus_path)
    samples = c.samples(where="kind = 'pair'", limit=500)
    ids = [s.id for s in samples]
    media = [s.images[0] for s in samples if s.images and s.images[0]]
    return ids, media, [c.media_bytes(m) for m in media[: 200 if distinct else 1]]


def requests_for(
    kind: str,
    rng: random.Random,
    ids: list[str],
    media: list[str],
    images: list[bytes],
    name: str,
) -> tuple[str, str, dict]:
    """One request of ``kind``. With several query images, texts end in a random number
    too: every search then misses the server's answer cache and is encoded."""
    base = f"/api/corpora/{name}"
    text = f"a {rng.choice(WORDS)} {rng.choice(SHAPES)} on a {rng.choice(WORDS)} background"
    if len(images) > 1:
        text += f" {rng.randrange(10**9)}"
    if kind == "text":
        return "POST", base + "/search", {"json": {"text": text, "k": 20}}
    if kind == "hybrid":
        return "POST", base + "/search", {"json": {"text": text, "k": 20, "hybrid": True}}
    if kind == "bm25":
        return "POST", base + "/search", {"json": {"text": text, "k": 20, "fulltext": True}}
    if kind == "text+filter":
        return (
            "POST",
            base + "/search",
            {"json": {"text": text, "k": 20, "filters": {"licences": ["CC0-1.0"]}}},
        )
    if kind == "like":
        return "POST", base + "/search", {"json": {"like": rng.choice(ids), "k": 20}}
    if kind == "image":
        image = rng.choice(images)
        if len(images) > 1:  # trailing bytes: the same picture to a decoder, another to a cache
            image += f"plait-query-{rng.randrange(10**9)}".encode()
        return (
            "POST",
            base + "/search/image",
            {"files": {"image": ("q.jpg", image)}, "data": {"query": '{"k": 20}'}},
        )
    if kind == "browse":
        return (
            "GET",
            base + "/samples",
            {
                "params": {
                    "lang": rng.choice(["en", "fr", "de"]),
                    "limit": 24,
                    "offset": rng.randrange(0, 2000),
                }
            },
        )
    if kind == "sample":
        return "GET", base + f"/samples/{rng.choice(ids)}", {}
    if kind == "thumb":
        return "GET", base + f"/media/{rng.choice(media)}", {"params": {"size": 256}}
    if kind == "stats":
        return "GET", base + "/stats", {}
    raise ValueError(kind)


KINDS = [
    "text",
    "hybrid",
    "bm25",
    "text+filter",
    "like",
    "image",
    "browse",
    "sample",
    "thumb",
    "stats",
]


class Conn:
    """One keep-alive HTTP/1.1 connection over asyncio streams. The load generator shares
    the machine with the server, so it must cost little per request: httpx's async client
    took about a core (7 ms a request) to drive ~130 searches/s on 2 cores, leaving the
    server the other; this sends prepared bytes and reads Content-Length (or chunked)
    bodies (10 s of text-search load: 28 CPU ticks here against the server's 1,485)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, kw: dict) -> tuple[int, bytes]:
        head, body = encode_request(method, path, kw, f"{self.host}:{self.port}")
        for attempt in range(2):  # a keep-alive connection the server closed: reopen once
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
            try:
                self.writer.write(head + body)
                return await read_response(self.reader)
            except (ConnectionError, asyncio.IncompleteReadError):
                self.writer.close()
                self.writer = None
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def encode_request(method: str, path: str, kw: dict, host: str) -> tuple[bytes, bytes]:
    """Request line and headers, and the body: JSON, a multipart upload, or nothing."""
    from urllib.parse import urlencode

    if kw.get("params"):
        path += "?" + urlencode(kw["params"])
    headers = {"Host": host, "Connection": "keep-alive"}
    body = b""
    if "json" in kw:
        body = json.dumps(kw["json"]).encode()
        headers["Content-Type"] = "application/json"
    elif "files" in kw:
        boundary = "plaitbenchboundary7f3a"
        parts = []
        for field, value in kw.get("data", {}).items():
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"\r\n\r\n'.encode()
                + value.encode()
                + b"\r\n"
            )
        for field, (fname, data) in kw["files"].items():
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; '
                f'filename="{fname}"\r\nContent-Type: image/jpeg\r\n\r\n'.encode()
                + data
                + b"\r\n"
            )
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
    if body or method == "POST":
        headers["Content-Length"] = str(len(body))
    lines = [f"{method} {path} HTTP/1.1", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode(), body


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """Status and body of one response."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    if "content-length" in headers:
        return status, await reader.readexactly(int(headers["content-length"]))
    if headers.get("transfer-encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            chunks.append(await reader.readexactly(size + 2))
            if size == 0:
                return status, b"".join(c[:-2] for c in chunks)
    raise ConnectionError("response without a length")


async def load(
    url: str,
    name: str,
    clients: int,
    seconds: float,
    ids: list[str],
    media: list[str],
    images: list[bytes],
    kinds: list[str] = KINDS,
) -> tuple[dict[str, list[float]], dict[str, list[str]]]:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    lat: dict[str, list[float]] = defaultdict(list)
    errs: dict[str, list[str]] = defaultdict(list)
    deadline = time.monotonic() + seconds

    async def worker(i: int) -> None:
        rng = random.Random(i)
        conn = Conn(parts.hostname or "127.0.0.1", parts.port or 80)
        j = i
        try:
            while time.monotonic() < deadline:
                kind = kinds[j % len(kinds)]
                j += 1
                method, path, kw = requests_for(kind, rng, ids, media, images, name)
                t0 = time.perf_counter()
                try:
                    status, body = await asyncio.wait_for(conn.request(method, path, kw), 60)
                    ok = status < 400
                    if not ok:
                        errs[kind].append(f"{status} {body[:160]!r}")
                except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError) as exc:
                    ok = False
                    errs[kind].append(f"{type(exc).__name__}: {exc}")
                    conn.close()
                    conn = Conn(conn.host, conn.port)
                if ok:
                    lat[kind].append((time.perf_counter() - t0) * 1000)
        finally:
            conn.close()

    await asyncio.gather(*(worker(i) for i in range(clients)))
    return lat, errs


def reference(corpus_path: Path, ids: list[str], image: bytes, reps: int = 20) -> dict[str, float]:
    """Median in-process latency per search kind: the same library calls, no HTTP."""
    import torch

    torch.set_num_threads(1)
    from plait import Corpus
    from plait.retrieval import Query, Searcher

    s = Searcher(Corpus(corpus_path))
    rng = random.Random(0)
    qs = {
        "text": lambda: Query(text=f"a {rng.choice(WORDS)} {rng.choice(SHAPES)}", k=20),
        "hybrid": lambda: Query(
            text=f"a {rng.choice(WORDS)} {rng.choice(SHAPES)}", k=20, hybrid=True
        ),
        "bm25": lambda: Query(
            text=f"a {rng.choice(WORDS)} {rng.choice(SHAPES)}", k=20, fulltext=True
        ),
        "like": lambda: Query(like=rng.choice(ids), k=20),
        "image": lambda: Query(image=image, k=20),
    }
    out = {}
    for kind, make in qs.items():
        s.search(make())  # load the encoder and tables
        out[kind] = _median_ms(lambda make=make: s.search(make()), reps)
    from plait.retrieval.cards import summary
    from plait.schema import Sample
    from plait.server.lineage import sample_detail
    from plait.server.state import make_thumb
    from plait.server.stats import corpus_stats

    c = s.corpus
    media = c.samples(where="kind = 'pair'", limit=50)
    out["browse"] = _median_ms(
        lambda: [
            summary(Sample.from_row(r))
            for r in c.dataset("samples")
            .to_table(filter="array_has(langs, 'fr')", offset=rng.randrange(0, 2000), limit=24)
            .to_pylist()
        ],
        reps,
    )
    out["sample"] = _median_ms(lambda: sample_detail(c, rng.choice(ids)), reps)
    out["thumb"] = _median_ms(
        lambda: make_thumb(c.media_bytes(rng.choice(media).images[0]), 256), reps
    )
    out["stats"] = _median_ms(lambda: corpus_stats(c), 5)
    return out


def _median_ms(fn, reps: int) -> float:
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))] if xs else float("nan")


def baseline_tree(ref: str) -> Path:
    """A ``git worktree`` of ``ref`` beside this checkout (made once, reused), or ``ref``
    itself when it is a checkout already (a folder holding ``src/plait``)."""
    if (Path(ref) / "src" / "plait").is_dir():
        return Path(ref)
    repo = Path(__file__).resolve().parents[1]
    sha = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "--short", ref], capture_output=True, text=True
    ).stdout.strip()
    if not sha:
        raise SystemExit(f"--baseline {ref!r} is not a commit of {repo}")
    tree = Path(tempfile.gettempdir()) / f"plait-serve-baseline-{sha}"
    if not (tree / "src" / "plait").is_dir():
        subprocess.run(
            ["git", "-C", str(repo), "worktree", "add", "--detach", str(tree), sha], check=True
        )
    return tree


def start_server(src: Path, corpus: Path, workers: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "PLAIT_API_KEY": "bench", "PYTHONPATH": str(src)}
    cmd = [sys.executable, "-m", "plait", "serve", str(corpus), "--host", "127.0.0.1"]
    cmd += ["--port", str(port), "--max-page", "100"]
    if workers > 1:
        cmd += ["--workers", str(workers)]
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    import httpx

    for _ in range(1200):
        try:
            if httpx.get(url + "/api/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
        if proc.poll() is not None:
            break
    proc.kill()
    raise SystemExit("server did not start: " + proc.stderr.read().decode()[-2000:])


def stop_server(proc: subprocess.Popen) -> None:
    import signal

    os.killpg(proc.pid, signal.SIGTERM)  # the server and its worker processes
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


Phase = tuple[dict[str, list[float]], dict[str, list[str]], float]


def measure_server(
    src: Path, args: argparse.Namespace, workers: int, ids, media, images
) -> dict[str, Phase]:
    proc, url = start_server(src, args.corpus, workers)
    try:
        import httpx

        name = httpx.get(url + "/api/corpora").json()["default"]
        asyncio.run(load(url, name, 2 * workers, 3.0, ids, media, images))  # load encoders
        out: dict[str, Phase] = {}
        for phase in ["mix", *args.phases]:
            kinds = KINDS if phase == "mix" else [phase]
            t0 = time.perf_counter()
            lat, errs = asyncio.run(
                load(url, name, args.clients, args.seconds, ids, media, images, kinds)
            )
            out[phase] = (lat, errs, time.perf_counter() - t0)
        return out
    finally:
        stop_server(proc)


def report(runs: dict[str, dict[str, Phase]], ref: dict[str, float]) -> None:
    labels = list(runs)
    for phase in runs[labels[-1]]:
        print(f"\n[{phase}] {'every kind in turn' if phase == 'mix' else 'only ' + phase}")
        head = f"{'kind':<12}"
        for lb in labels:
            head += f"{lb + ' q/s':>20}{'p50':>8}{'p95':>8}{'err':>5}"
        head += "".join(f"{'x' + str(i):>7}" for i in range(1, len(labels)))
        print(head + f"{'ref p50':>9}")
        for kind in KINDS:
            row = f"{kind:<12}"
            rates = []
            for lb in labels:
                lat, errs, wall = runs[lb][phase]
                xs = lat.get(kind, [])
                if not xs and not errs.get(kind):
                    break
                rates.append(len(xs) / wall)
                row += f"{len(xs) / wall:>20.1f}{pct(xs, 0.5):>8.0f}{pct(xs, 0.95):>8.0f}"
                row += f"{len(errs.get(kind, [])):>5}"
            else:
                for rate in rates[1:]:  # each later server over the first
                    row += f"{rate / rates[0] if rates[0] else float('inf'):>7.2f}"
                r = ref.get(kind)
                print(row + (f"{r:>9.1f}" if r else f"{'':>9}"))
        for lb in labels:
            errs = runs[lb][phase][1]
            for kind, msgs in errs.items():
                print(f"  {lb} {kind} errors: {len(msgs)}, first: {msgs[0][:200]}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=10_000)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--corpus", type=Path, default=Path("/tmp/plait-bench-serve"))
    ap.add_argument(
        "--real-embeddings", action="store_true", help="Embed with MiniLM/EfficientNet (slow)."
    )
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument(
        "--repeat-queries",
        action="store_true",
        help="one query image and 256 query texts, repeated (measures the answer cache); "
        "default: every text and image different, so every search is encoded",
    )
    ap.add_argument("--baseline", default=None, help="git ref of the 'before' server")
    ap.add_argument(
        "--workers", default="1", help="worker processes of 'after' (a list: one run each)"
    )
    ap.add_argument(
        "--phases", default="text,image", help="kinds also run alone, each for --seconds"
    )
    args = ap.parse_args()
    args.clients = max(1, min(args.clients, 500))  # bounded
    args.seconds = max(1.0, min(args.seconds, 600.0))
    args.phases = [p for p in args.phases.split(",") if p]
    unknown = set(args.phases) - set(KINDS)
    if unknown:
        raise SystemExit(f"unknown phases {sorted(unknown)}; kinds: {', '.join(KINDS)}")

    if args.rebuild and args.corpus.exists():
        import shutil

        shutil.rmtree(args.corpus)
    if not (args.corpus / "plait.json").exists():
        build(args.corpus, args.samples, args.real_embeddings)
    ids, media, images = plan(args.corpus, not args.repeat_queries)
    from plait import Corpus

    n = Corpus(args.corpus).count("samples")
    ref = reference(args.corpus, ids, images[0])
    here = Path(__file__).resolve().parents[1] / "src"
    runs: dict[str, dict[str, Phase]] = {}
    if args.baseline:
        tree = baseline_tree(args.baseline)
        label = Path(args.baseline).name if "/" in args.baseline else args.baseline
        runs[f"before({label})"] = measure_server(tree / "src", args, 1, ids, media, images)
    for w in (int(x) for x in str(args.workers).split(",")):
        runs[f"after(w={w})"] = measure_server(here, args, w, ids, media, images)
    print(
        f"\nplait serve: {n:,} samples, {args.clients} clients, {args.seconds:.0f} s per phase; "
        "latencies in ms; xN = q/s of the N-th server over the first; ref = median in-process "
        "latency, one query at a time, no HTTP; queries "
        + ("repeated (the answer cache)" if args.repeat_queries else "all different (encoded)")
    )
    report(runs, ref)
    load1 = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"machine: {os.cpu_count()} CPUs, 1-min load average {load1:.1f} at the end")


if __name__ == "__main__":
    main()

"""Caption operator throughput; every speed is a ratio against a reference in the same run.

1. local: ``rewrite_captions`` over Flickr8k captions with SmolLM2-135M, in captions/s,
   against a bare loop of the same model (``generate_batch`` over chunks of the same
   size, same prompts, same decoding). The operator runs with ``cache: none`` (it pays
   for every generation); a second operator run over the same captions with a cache
   shows what a rerun costs. Goal: ratio >= 0.9.
2. server: ``rewrite_captions`` through ``openai:`` against a real OpenAI-compatible HTTP
   server started here (tests/openai_server.py) at concurrency 1, 4 and 16, against a
   plain loop of the official ``openai`` client with as many threads. The server wraps
   a generator that answers after a fixed delay (``--latency``, default 50 ms: a model
   behind a server; it costs no CPU here, so the client side is what is measured), or
   SmolLM2 with ``--server-model smollm2`` (model-bound: both sides wait on the model).

Usage: python bench/recaption.py [local] [server] [--n 48] [--requests 400]
Run under ``flock /work/bench.lock``.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("PLAIT_SHARED_DATA", ROOT.parent / "shared" / "data"))
sys.path.insert(0, str(ROOT / "tests"))


def captions(n: int) -> list[str]:
    rows = list(csv.reader(open(DATA / "flickr8k/train.tsv"), delimiter="\t"))[1:]
    seen: dict[str, str] = {}
    for image, _, cap in rows:
        seen.setdefault(image, cap)
    return list(seen.values())[:n]


def samples(caps: list[str]):
    from plait.schema import PAIR, Sample, Source

    return [
        Sample(f"s{i}", PAIR, [None, c], ["m", None], Source(uri=str(i), dataset="b"))
        for i, c in enumerate(caps)
    ]


def run_op(
    spec: str, caps: list[str], cache: str, batch: int = 256, keep: list | None = None
) -> tuple[float, dict]:
    from plait.ops import build
    from plait.ops.base import OpContext

    op = build("rewrite_captions", generator=spec, max_new_tokens=40, cache=cache)
    op.setup()
    ctx = OpContext(run_id="bench", media=lambda ids: {}, corpus_path=None)
    todo = samples(caps)
    counts: dict = {}
    t0 = time.perf_counter()
    for lo in range(0, len(todo), batch):
        res = op.process(todo[lo : lo + batch], ctx)
        if keep is not None:
            keep.extend(res.kept)
        for k, v in res.counts.items():
            counts[k] = counts.get(k, 0) + v
    return time.perf_counter() - t0, counts


def bench_local(n: int) -> None:
    from plait.generators import GenOptions
    from plait.generators.calls import shared_generator
    from plait.ops.caption.prompts import REWRITE_STYLES

    spec = "smollm2?loader=transformers&threads=2&batch_size=16"
    gen = shared_generator(spec)
    caps = captions(n)
    prompts = [REWRITE_STYLES["reword"].render(caption=c.strip()) for c in caps]
    opts = GenOptions(max_new_tokens=40)
    gen.generate_batch(prompts[:2], opts)  # warm up

    def bare() -> float:
        t0 = time.perf_counter()
        for lo in range(0, len(prompts), 16):
            gen.generate_batch(prompts[lo : lo + 16], opts)
        return time.perf_counter() - t0

    tb = bare()
    to, counts = run_op(spec, caps, "none")
    tb2 = bare()  # again after the operator: the machine's load drifts
    tmp = Path(os.environ.get("TMPDIR", "/tmp")) / f"plait-bench-recaption-{os.getpid()}"
    rewritten: list = []
    run_op(spec, caps, str(tmp), keep=rewritten)
    tc, cached = run_op(spec, caps, str(tmp))
    ref = min(tb, tb2)
    print(f"local: rewrite_captions with {spec}, {n} Flickr8k captions, batches of 16")
    print(f"  bare generate_batch loop : {n / ref:8.3f} captions/s (runs {tb:.1f} s, {tb2:.1f} s)")
    print(f"  rewrite_captions (no cache): {n / to:8.3f} captions/s  ratio {ref / to:.2f}")
    print(f"    counts: {counts}")
    print(
        f"  rerun from the cache      : {n / tc:8.1f} captions/s ({cached.get('cache_hits', 0)} "
        f"cache hits, {cached.get('calls', 0)} model calls)"
    )
    print("  examples (original -> rewrite):")
    for smp in rewritten[:: max(1, len(rewritten) // 10)][:10]:
        print(
            f"    {smp.texts[1].strip()!r}\n      -> {(smp.texts[2] if len(smp.texts) > 2 else '(not added)').strip()!r}"
        )


class Delayed:
    """A generator behind the test server: answers a rewrite after a fixed delay."""

    name = "delayed"
    accepts_images = False
    max_images = 0
    context_tokens = 4096
    remote = False

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def generate(self, prompt, options=None):  # noqa: ANN001
        from plait.generators import Generation

        time.sleep(self.seconds)
        cap = prompt.messages[-1].text().removeprefix("Caption: ")
        return Generation(f"In this photo, {cap.strip().rstrip(' .').lower()}.", new_tokens=12)


def bench_server(requests: int, latency: float, model: str) -> None:
    from openai import OpenAI
    from openai_server import OpenAIServer

    from plait.ops.caption.prompts import REWRITE_STYLES

    if model == "smollm2":
        from plait.generators.calls import shared_generator

        backend = shared_generator("smollm2?loader=transformers&threads=2")
        label = "SmolLM2-135M behind the server"
    else:
        backend = Delayed(latency)
        label = f"a generator answering after {latency * 1000:.0f} ms"
    caps = (captions(2500) * (requests // 2500 + 1))[:requests]
    caps = [f"{c.strip()} ({i})" for i, c in enumerate(caps)]  # distinct prompts
    template = REWRITE_STYLES["reword"]
    print(f"server: {requests} rewrites through a real HTTP server wrapping {label}")
    with OpenAIServer(backend) as srv:
        client = OpenAI(base_url=srv.url, api_key="none", max_retries=0, timeout=120)

        def one(c: str) -> str:
            msgs = [
                {"role": m.role, "content": m.text()} for m in template.render(caption=c).messages
            ]
            r = client.chat.completions.create(
                model=srv.model, messages=msgs, max_tokens=40, temperature=0.0
            )
            return r.choices[0].message.content or ""

        for conc in (1, 4, 16):
            n = requests if conc > 1 else max(conc, requests // 4)
            part = caps[:n]
            t0 = time.perf_counter()
            with ThreadPoolExecutor(conc) as pool:
                list(pool.map(one, part))
            tp = time.perf_counter() - t0
            spec = srv.spec(concurrency=conc, timeout=120)
            to, counts = run_op(spec, part, "none")
            print(
                f"  concurrency {conc:2d}: openai client loop {n / tp:8.1f}/s, "
                f"rewrite_captions {n / to:8.1f}/s, ratio {tp / to:.2f} "
                f"({counts.get('generated', 0)} generated, "
                f"{sum(v for k, v in counts.items() if k.startswith('failed:'))} failed)"
            )


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", nargs="*", default=["local", "server"])
    ap.add_argument("--n", type=int, default=48, help="captions for the local run")
    ap.add_argument("--requests", type=int, default=400, help="requests per server run")
    ap.add_argument("--latency", type=float, default=0.05)
    ap.add_argument("--server-model", default="delayed", choices=["delayed", "smollm2"])
    args = ap.parse_args()
    if "local" in args.what:
        bench_local(args.n)
    if "server" in args.what:
        bench_server(args.requests, args.latency, args.server_model)

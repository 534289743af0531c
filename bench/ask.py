"""Seconds per answer (retrieve / rerank / generate) and generation speed against a bare loop.

For each question, plait answers it (``Asker.ask``: retrieve, rerank, fit, build the
prompt, stream the generation from a worker thread, parse, record), then the same model
generates from the same prompt with nothing of plait around it: tokenize, ``generate``,
decode. Both sides make the same number of new tokens: the bare loop is told to make
exactly as many as plait's answer had (``min_new_tokens`` = ``max_new_tokens`` = plait's
count, greedy, so the same tokens; the bench checks the text). tokens/s is new tokens
over the wall time of the generation step, prompt reading (prefill) included on both
sides; the ratio plait / bare is the cost of plait's prompt building, streaming and
bookkeeping (goal >= 0.9). Plait and the references alternate question by question so
machine load drifts over all of them alike.

Two references, because where ``generate`` runs changes its speed: ``bare, worker
thread`` runs it in a thread of its own, as plait's streaming does (and as transformers'
TextIteratorStreamer example does); ``bare, main thread`` in the calling thread. On a
busy machine torch's two OpenMP threads in the main thread spin for a descheduled peer
(measured here: 3x the CPU seconds of the same generate in a worker thread), so the
main-thread figure then flatters plait; on a quiet one it is the stricter reference.

    flock /work/bench.lock python bench/ask.py /tmp/rag/corpus bench/rag/receipts.jsonl \\
        --generator "smollm2?loader=transformers&threads=2" -n 10
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
from pathlib import Path
from typing import Any


def bare_generate(gen: Any, prompt: Any, new_tokens: int) -> tuple[int, float, str]:
    """(new tokens, seconds, text) of a plain transformers loop making exactly ``new_tokens``."""
    import torch

    t0 = time.perf_counter()
    text, _ = gen._chat(prompt)  # the same chat-formatted text plait feeds the model
    inputs = gen.tokenizer([text], return_tensors="pt", add_special_tokens=False)
    with torch.inference_mode():
        out = gen.model.generate(
            **inputs,
            max_new_tokens=new_tokens,
            min_new_tokens=new_tokens,
            do_sample=False,
            temperature=None,
            top_p=None,
            top_k=None,
            pad_token_id=gen.tokenizer.pad_token_id,
        )
    n = int(out.shape[1] - inputs["input_ids"].shape[1])
    text = gen.tokenizer.decode(out[0, -n:], skip_special_tokens=True)
    return n, time.perf_counter() - t0, text


def in_thread(gen: Any, prompt: Any, new_tokens: int) -> tuple[int, float, str]:
    """:func:`bare_generate` in a thread of its own; the time includes starting it."""
    box: list[tuple[int, float, str]] = []
    t0 = time.perf_counter()
    worker = threading.Thread(target=lambda: box.append(bare_generate(gen, prompt, new_tokens)))
    worker.start()
    worker.join()
    n, _, text = box[0]
    return n, time.perf_counter() - t0, text


REFERENCES = {"bare, worker thread": in_thread, "bare, main thread": bare_generate}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("questions", type=Path)
    ap.add_argument("--generator", default="smollm2?loader=transformers&threads=2")
    ap.add_argument("-n", type=int, default=10)
    ap.add_argument("--max-new-tokens", type=int, default=48)
    a = ap.parse_args()

    from plait.answer import Asker, AskOptions
    from plait.answer import prompt as prompts

    qs = [json.loads(x)["question"] for x in a.questions.read_text().splitlines() if x.strip()]
    qs = qs[: a.n]
    asker = Asker(a.corpus, a.generator)
    gen = asker.generator
    opts = AskOptions(max_new_tokens=a.max_new_tokens, record=False)
    asker.ask(qs[0], opts)  # warm: encoders, model, first-call allocations
    has_model = hasattr(gen, "model") and hasattr(gen, "_chat")
    if has_model:
        for ref in REFERENCES.values():
            ref(gen, prompts.build(qs[0], [], gen), 2)
    steps: dict[str, list[float]] = {"retrieve": [], "rerank": [], "generate": [], "total": []}
    ours_tok = ours_s = 0.0
    refs = {
        name: {"tokens": 0, "seconds": 0.0, "same_count": 0, "same_text": 0} for name in REFERENCES
    }
    measured = 0
    for q in qs:
        ans = asker.ask(q, opts)
        for k in steps:
            steps[k].append(ans.timings.get(k, 0.0))
        n = ans.tokens.get("new", 0)
        if not (has_model and ans.sources and n):
            continue
        measured += 1
        ours_tok += n
        ours_s += ans.timings["generate"]
        p = prompts.build(ans.question, ans.sources, gen, asker.corpus.media_many)
        for name, ref in REFERENCES.items():
            bn, bs, text = ref(gen, p, n)
            r = refs[name]
            r["tokens"] += bn
            r["seconds"] += bs
            r["same_count"] += bn == n
            # greedy on the same prompt: the bare text starts with plait's answer (which may
            # stop earlier, at a stop string or the end token the bare loop may not make)
            r["same_text"] += text.strip().startswith(ans.raw.strip()[:40])
    print(f"generator {gen.name}, {len(qs)} questions, corpus {a.corpus}")
    print("seconds per answer (median / mean):")
    for k, v in steps.items():
        print(f"  {k:9s} {statistics.median(v):7.3f} / {statistics.mean(v):7.3f}")
    if not (measured and ours_s):
        print("no generation measured (a generator without a local transformers model?)")
        return
    ours = ours_tok / ours_s
    print(f"generation over {measured} answers, {ours_tok:.0f} new tokens each side:")
    print(f"  plait                {ours:7.2f} tok/s")
    for name, r in refs.items():
        bare = r["tokens"] / r["seconds"]
        print(
            f"  {name:20s} {bare:7.2f} tok/s   plait / this: {ours / bare:.3f} (goal >= 0.9); "
            f"same token count {r['same_count']}/{measured}, same text {r['same_text']}/{measured}"
        )


if __name__ == "__main__":
    main()

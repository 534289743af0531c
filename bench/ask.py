"""Seconds per answer (retrieve / rerank / generate) and generation speed against a bare loop.

For each question, plait answers it (``Asker.ask``: retrieve, rerank, fit, build the
prompt, stream the generation from a worker thread, parse, record), then the same model
generates from the same prompt with nothing of plait around it: tokenize, ``generate``,
decode, in the calling thread. Both sides produce the same number of new tokens: the
bare loop is told to make exactly as many as plait's answer had (``min_new_tokens`` =
``max_new_tokens`` = plait's count, greedy, so the very same tokens). tokens/s is new
tokens over the wall time of the generation step, prompt reading (prefill) included on
both sides; the ratio plait / bare is the cost of plait's prompt building, streaming
and bookkeeping (goal >= 0.9). The two alternate question by question so machine load
drifts over both alike.

    flock /work/bench.lock python bench/ask.py /tmp/rag/corpus bench/rag/receipts.jsonl \\
        --generator "smollm2?loader=transformers&threads=2" -n 10
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any


def bare_generate(gen: Any, prompt: Any, new_tokens: int) -> tuple[int, float]:
    """(new tokens, seconds) of a plain transformers loop making exactly ``new_tokens``."""
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
    gen.tokenizer.decode(out[0, -n:], skip_special_tokens=True)
    return n, time.perf_counter() - t0


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
        bare_generate(gen, prompts.build(qs[0], [], gen), 2)
    steps: dict[str, list[float]] = {"retrieve": [], "rerank": [], "generate": [], "total": []}
    ours_tok = ours_s = bare_tok = bare_s = 0.0
    rows = []
    for q in qs:
        ans = asker.ask(q, opts)
        for k in steps:
            steps[k].append(ans.timings.get(k, 0.0))
        n = ans.tokens.get("new", 0)
        if has_model and ans.sources and n:
            p = prompts.build(ans.question, ans.sources, gen, asker.corpus.media_many)
            bn, bs = bare_generate(gen, p, n)
            ours_tok += n
            ours_s += ans.timings["generate"]
            bare_tok += bn
            bare_s += bs
            rows.append((n, ans.timings["generate"], bn, bs))
    print(f"generator {gen.name}, {len(qs)} questions, corpus {a.corpus}")
    print("seconds per answer (median / mean):")
    for k, v in steps.items():
        print(f"  {k:9s} {statistics.median(v):7.3f} / {statistics.mean(v):7.3f}")
    if bare_s and ours_s:
        same = all(r[0] == r[2] for r in rows)
        print(f"new tokens: plait {ours_tok:.0f}, bare {bare_tok:.0f} (same per answer: {same})")
        ours, bare = ours_tok / ours_s, bare_tok / bare_s
        print(f"generation: plait {ours:.1f} tok/s, bare generate {bare:.1f} tok/s")
        print(f"ratio plait / bare: {ours / bare:.3f} (goal >= 0.9)")


if __name__ == "__main__":
    main()

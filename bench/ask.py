"""Seconds per answer (retrieve / rerank / generate) and generation speed against a bare loop.

For each question, plait answers it (``Asker.ask``: retrieve, rerank, fit, stream the
generation, parse, record), then the same model generates from the same prompt with
nothing of plait around it (``model.generate`` on the chat-formatted prompt, greedy, the
same token limit): the ratio of plait's generation tokens/s to the bare loop's is the
cost of plait's streaming and bookkeeping (goal >= 0.9). The two alternate question by
question so machine load drifts over both alike.

    flock /work/bench.lock python bench/ask.py /tmp/rag/corpus bench/rag/receipts.jsonl \\
        --generator "smollm2?loader=transformers&threads=2" -n 10
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path


def bare_generate(gen, prompt, max_new_tokens: int) -> tuple[int, float]:
    """(new tokens, seconds) of a plain transformers generate on the same prompt."""
    import torch

    text, _ = gen._chat(prompt)
    inputs = gen.tokenizer([text], return_tensors="pt", add_special_tokens=False)
    t0 = time.perf_counter()
    with torch.inference_mode():
        out = gen.model.generate(
            **inputs,
            max_new_tokens=max_new_tokens,
            do_sample=False,
            pad_token_id=gen.tokenizer.pad_token_id,
        )
    seconds = time.perf_counter() - t0
    new = out[0, inputs["input_ids"].shape[1] :].tolist()
    while new and new[-1] in (gen.tokenizer.eos_token_id, gen.tokenizer.pad_token_id):
        new.pop()
    return len(new), seconds


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
    opts = AskOptions(max_new_tokens=a.max_new_tokens, record=False)
    asker.ask(qs[0], opts)  # warm: encoders, model, first-call allocations
    steps: dict[str, list[float]] = {"retrieve": [], "rerank": [], "generate": [], "total": []}
    plait_tok = plait_s = bare_tok = bare_s = 0.0
    has_model = hasattr(asker.generator, "model") and hasattr(asker.generator, "_chat")
    for q in qs:
        ans = asker.ask(q, opts)
        for k in steps:
            steps[k].append(ans.timings.get(k, 0.0))
        if has_model and ans.sources:
            plait_tok += ans.tokens.get("new", 0)
            plait_s += ans.timings["generate"]
            p = prompts.build(ans.question, ans.sources, asker.generator, asker.corpus.media_many)
            n, s = bare_generate(asker.generator, p, a.max_new_tokens)
            bare_tok += n
            bare_s += s
    print(f"generator {asker.generator.name}, {len(qs)} questions, corpus {a.corpus}")
    print("seconds per answer (median / mean):")
    for k, v in steps.items():
        print(f"  {k:9s} {statistics.median(v):7.3f} / {statistics.mean(v):7.3f}")
    if bare_s and plait_s:
        ours, bare = plait_tok / plait_s, bare_tok / bare_s
        print(f"generation: plait {ours:.1f} tok/s, bare generate {bare:.1f} tok/s")
        print(f"ratio plait / bare: {ours / bare:.3f} (goal >= 0.9)")


if __name__ == "__main__":
    main()

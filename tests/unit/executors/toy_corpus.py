"""Build small text corpora directly through ``Corpus.append`` (no ingest needed)."""

from __future__ import annotations

import random
from pathlib import Path

from plait import Corpus
from plait.schema import TEXT, Sample, Source, samples_table

WORDS = [
    "red",
    "green",
    "blue",
    "cat",
    "dog",
    "bird",
    "runs",
    "jumps",
    "sleeps",
    "on",
    "the",
    "a",
    "big",
    "small",
]


def texts(n: int, seed: int = 0) -> list[str]:
    """``n`` captions: some short (under 3 words), some exact repeats (modulo case)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        if i % 10 == 3:
            out.append(rng.choice(WORDS))
        elif i % 10 == 7 and out:
            out.append(out[rng.randrange(len(out))].upper())
        else:
            out.append(" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 8))) + f" {i}")
    return out


def text_corpus(path: Path, n: int, seed: int = 0, dataset: str = "toy") -> Corpus:
    corpus = Corpus.init(path)
    samples = [
        Sample(
            id=f"{dataset}/{i:06d}",
            kind=TEXT,
            texts=[t],
            images=[None],
            source=Source(uri=f"mem://{i}", dataset=dataset, licence="CC0-1.0"),
            langs=["en"],
            run_id="ingest-toy",
        )
        for i, t in enumerate(texts(n, seed))
    ]
    corpus.append("samples", samples_table(samples))
    return corpus

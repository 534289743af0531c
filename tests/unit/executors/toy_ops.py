"""Small operators for executor tests, importable by spawned workers and Ray workers.

They stand in for the registered operators at the ``plait.ops.base`` seam: a
recipe names them as ``toy_ops:Class``; tests put this folder on ``sys.path``
(and on ``PYTHONPATH`` for subprocesses and Ray workers).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from plait.ops.base import Deduplicator, Filter, Mapper, OpContext
from plait.schema import Sample


class MinWords(Filter):
    """Drops samples whose text has fewer than ``min_words`` words."""

    name = "toy-min-words"

    def __init__(self, min_words: int = 3, mode: str = "drop") -> None:
        super().__init__(mode)
        self.min_words = min_words

    def score(self, batch: list[Sample], ctx: OpContext) -> list[dict[str, Any]]:
        return [{"words": len(s.text.split()), "chars": len(s.text)} for s in batch]

    def keep(self, sample: Sample, stats: dict[str, Any]) -> str | None:
        return None if stats["words"] >= self.min_words else "too_few_words"


class Lower(Mapper):
    """Lower-cases text slots; records that it ran."""

    name = "toy-lower"

    def map(self, batch: list[Sample], ctx: OpContext) -> list[Sample]:
        for s in batch:
            s.texts = [t.lower() if t is not None else None for t in s.texts]
            s.stats["lowered"] = True
        return batch


class ExactText(Deduplicator):
    """Exact duplicates of the lower-cased, whitespace-normalised text."""

    name = "toy-exact-text"

    def fingerprint(self, batch: list[Sample], ctx: OpContext) -> list[Any]:
        return [" ".join(s.text.lower().split()) or None for s in batch]

    def resolve(self, items: list[tuple[str, Any]]) -> dict[str, str]:
        first: dict[Any, str] = {}
        drops = {}
        for sid, fp in items:
            if fp in first:
                drops[sid] = f"duplicate of {first[fp]}"
            else:
                first[fp] = sid
        return drops


class Slow(Filter):
    """Keeps everything, after ``seconds`` per sample (to make a run long enough to kill)."""

    name = "toy-slow"

    def __init__(self, seconds: float = 0.01) -> None:
        super().__init__()
        self.seconds = seconds

    def score(self, batch: list[Sample], ctx: OpContext) -> list[dict[str, Any]]:
        time.sleep(self.seconds * len(batch))
        return [{} for _ in batch]

    def keep(self, sample: Sample, stats: dict[str, Any]) -> str | None:
        return None


class FakeModel(Filter):
    """A 'model' op: ``setup`` leaves one file per call in ``log_dir``, so tests can count loads."""

    name = "toy-model"
    uses_model = True

    def __init__(self, log_dir: str, threshold: float = 0.2) -> None:
        super().__init__()
        self.log_dir = log_dir
        self.threshold = threshold
        self.weights: dict[str, float] | None = None

    def setup(self) -> None:
        Path(self.log_dir).mkdir(parents=True, exist_ok=True)
        (Path(self.log_dir) / f"setup-{os.getpid()}-{time.monotonic_ns()}").touch()
        self.weights = {c: (ord(c) % 7) / 7 for c in "abcdefghijklmnopqrstuvwxyz"}

    def score(self, batch: list[Sample], ctx: OpContext) -> list[dict[str, Any]]:
        assert self.weights is not None, "setup() was not called"
        out = []
        for s in batch:
            letters = [c for c in s.text.lower() if c in self.weights]
            out.append(
                {
                    "model_score": round(
                        sum(self.weights[c] for c in letters) / max(1, len(letters)), 6
                    )
                }
            )
        return out

    def keep(self, sample: Sample, stats: dict[str, Any]) -> str | None:
        return None if stats["model_score"] >= self.threshold else "low_model_score"


class Tally(Filter):
    """Keeps everything and leaves a file named by each batch's first sample id in
    ``log_dir``, so a test can tell which shards a run processed (one batch per shard)."""

    name = "toy-tally"

    def __init__(self, log_dir: str) -> None:
        super().__init__()
        self.log_dir = log_dir

    def score(self, batch: list[Sample], ctx: OpContext) -> list[dict[str, Any]]:
        Path(self.log_dir).mkdir(parents=True, exist_ok=True)
        name = batch[0].id.replace("/", "_") if batch else "empty"
        (Path(self.log_dir) / f"{name}-{os.getpid()}-{time.monotonic_ns()}").touch()
        return [{} for _ in batch]

    def keep(self, sample: Sample, stats: dict[str, Any]) -> str | None:
        return None

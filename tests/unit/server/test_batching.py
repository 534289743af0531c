"""Concurrent one-item calls share forwards, each caller gets its own row, errors stay put."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from plait.server.batching import BatchingEncoder, MicroBatcher


def test_concurrent_items_are_batched_and_answered_in_their_own_order() -> None:
    seen: list[list[int]] = []

    def double(items: list[int]) -> list[int]:
        seen.append(list(items))
        time.sleep(0.01)  # a forward pass: requests pile up meanwhile
        return [2 * i for i in items]

    batcher = MicroBatcher(double, max_batch=8, max_wait_s=0.005)
    with ThreadPoolExecutor(24) as pool:
        got = list(pool.map(batcher.submit, range(200)))
    batcher.close()
    assert got == [2 * i for i in range(200)]
    assert sorted(i for batch in seen for i in batch) == list(range(200))
    assert max(len(b) for b in seen) == 8 and len(seen) < 200 / 2


def test_a_bad_item_fails_alone() -> None:
    def parse(items: list[str]) -> list[int]:
        return [int(s) for s in items]  # "x" raises ValueError for the whole batch

    batcher = MicroBatcher(parse, max_batch=16, max_wait_s=0.02)
    barrier = threading.Barrier(6)

    def call(s: str) -> object:
        barrier.wait()
        try:
            return batcher.submit(s)
        except ValueError as exc:
            return exc

    with ThreadPoolExecutor(6) as pool:
        got = list(pool.map(call, ["1", "2", "x", "4", "5", "6"]))
    assert got[:2] == [1, 2] and got[3:] == [4, 5, 6]
    assert isinstance(got[2], ValueError)


class _Words:
    """A deterministic text encoder at the seam (a hash of each word, unit length)."""

    name, dim, modalities = "words", 8, frozenset({"text"})

    def __init__(self) -> None:
        self.calls: list[int] = []

    def encode_text(self, texts: list[str]) -> np.ndarray:
        self.calls.append(len(texts))
        out = np.array(
            [[(hash((t, j)) % 1000) / 1000 + 0.001 for j in range(self.dim)] for t in texts],
            np.float32,
        )
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    def encode_images(self, images: list) -> np.ndarray:
        raise NotImplementedError


def test_batching_encoder_gives_each_text_its_own_vector_and_remembers_repeats() -> None:
    inner = _Words()
    enc = BatchingEncoder(inner, max_batch=16, max_wait_s=0.005)
    texts = [f"query {i % 40}" for i in range(160)]
    with ThreadPoolExecutor(16) as pool:
        got = list(pool.map(lambda t: enc.encode_text([t])[0], texts))
    want = inner.encode_text(texts)
    inner.calls.pop()
    np.testing.assert_allclose(np.stack(got), want, rtol=1e-6)
    assert sum(inner.calls) <= 160 and len(inner.calls) < 160
    before = sum(inner.calls)
    assert np.allclose(enc.encode_text(["query 3"])[0], want[3])  # remembered
    assert sum(inner.calls) == before
    with pytest.raises(NotImplementedError):
        enc.encode_images(["not an image"])
    enc.close()

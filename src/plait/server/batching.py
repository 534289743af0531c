"""Query encoding batched across concurrent requests.

Each request thread used to run its own one-item forward pass: fifty clients made
fifty forwards of batch size one, each paying the model's fixed cost per call (a
MiniLM forward of 32 short texts costs about twice one of a single text). A
:class:`MicroBatcher` runs worker threads per encoder and modality (one per core, up
to four; a forward runs on one torch thread): a request hands over its item and
waits; a worker takes what is queued (up to ``max_batch``, waiting at most
``max_wait_s`` for more after the first), runs one forward and hands each request
its row. Under load the queue fills while a batch runs, so batches form without
waiting; alone, a request waits ``max_wait_s`` at most.

:class:`BatchingEncoder` puts one batcher in front of each of an encoder's
``encode_text`` and ``encode_images`` (an image is prepared in its request's thread;
only forwards are batched) and keeps recent text vectors (a repeated query text is
not encoded again).
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any, Generic, TypeVar

import numpy as np

T = TypeVar("T")


class MicroBatcher(Generic[T]):
    """Calls ``fn(items) -> rows`` on batches of items submitted one by one from many
    threads; :meth:`submit` returns the item's row (or raises its error)."""

    def __init__(
        self,
        fn: Callable[[list[T]], Sequence[Any]],
        *,
        max_batch: int = 32,
        max_wait_s: float = 0.002,
        name: str = "plait-batch",
        threads: int = 1,
        init: Callable[[], None] | None = None,
    ) -> None:
        self.fn, self.max_batch, self.max_wait_s, self.name = fn, max_batch, max_wait_s, name
        self.threads = max(1, threads)  # workers taking batches
        self.init = init  # run once in each worker thread (its torch thread count)
        self._q: queue.SimpleQueue[tuple[T, Future[Any]] | None] = queue.SimpleQueue()
        self._started = False
        self._lock = threading.Lock()
        self.batches = 0  # forwards run
        self.items = 0  # items they held

    def submit(self, item: T) -> Any:
        fut: Future[Any] = Future()
        self._q.put((item, fut))
        if not self._started:
            with self._lock:
                if not self._started:
                    for i in range(self.threads):
                        name = f"{self.name}-{i}"
                        threading.Thread(target=self._loop, name=name, daemon=True).start()
                    self._started = True
        return fut.result()

    def close(self) -> None:
        for _ in range(self.threads):
            self._q.put(None)

    def _take(self) -> list[tuple[T, Future[Any]]] | None:
        first = self._q.get()
        if first is None:
            return None
        batch = [first]
        deadline = time.monotonic() + self.max_wait_s
        while len(batch) < self.max_batch:
            try:
                got = self._q.get_nowait()  # everything already queued: no wait
            except queue.Empty:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    got = self._q.get(timeout=left)
                except queue.Empty:
                    break
            if got is None:
                self._q.put(None)  # stop after this batch
                break
            batch.append(got)
        return batch

    def _loop(self) -> None:
        if self.init is not None:
            self.init()
        while True:
            batch = self._take()
            if batch is None:
                return
            self.batches += 1
            self.items += len(batch)
            try:
                rows = self.fn([item for item, _ in batch])
            except Exception:  # one bad item must not fail its neighbours: retry alone
                for item, fut in batch:
                    self._one(item, fut)
                continue
            for (_, fut), row in zip(batch, rows, strict=True):
                fut.set_result(row)

    def _one(self, item: T, fut: Future[Any]) -> None:
        try:
            fut.set_result(self.fn([item])[0])
        except Exception as exc:  # handed to the waiting request
            fut.set_exception(exc)


class BatchingEncoder:
    """A query encoder whose one-item calls from concurrent requests share forwards."""

    def __init__(
        self,
        encoder: Any,
        *,
        max_batch: int = 32,
        max_wait_s: float = 0.002,
        text_cache: int = 4096,
    ) -> None:
        self.encoder = encoder
        self.name: str = encoder.name
        self.dim: int = encoder.dim
        self.modalities: frozenset[str] = encoder.modalities
        cores = max(1, min(4, os.cpu_count() or 1))
        # A worker per core, each forward on one torch thread: set in each worker, as
        # torch keeps the count per thread (one set in a request thread does not reach
        # them, and two forwards on two threads each oversubscribed two cores). On 2
        # cores, image search: 57 q/s so, 37 with one worker on two threads.
        self._text = MicroBatcher(
            encoder.encode_text,
            max_batch=max_batch,
            max_wait_s=max_wait_s,
            name="plait-text",
            threads=cores,
            init=one_torch_thread,
        )
        # An image is prepared (resized, normalised) in its request's thread, in parallel;
        # only the forward pass is batched.
        prepare = getattr(encoder, "prepare_image", None)
        forward = getattr(encoder, "encode_prepared", None)
        self._prepare = prepare if prepare is not None and forward is not None else None
        images: Callable[[list[Any]], Any] = encoder.encode_images
        if self._prepare is not None and forward is not None:

            def images(pixels: list[Any]) -> Any:
                return forward(np.stack(pixels))

        self._image = MicroBatcher(
            images,
            max_batch=max(1, max_batch // 4),
            max_wait_s=max_wait_s,
            name="plait-image",
            threads=cores,
            init=one_torch_thread,
        )
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cap = text_cache
        self._lock = threading.Lock()

    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) != 1:
            return self.encoder.encode_text(list(texts))  # a batch already
        text = texts[0]
        with self._lock:
            vec = self._vectors.get(text)
            if vec is not None:
                self._vectors.move_to_end(text)
                return vec[None].copy()
        vec = np.asarray(self._text.submit(text), np.float32)
        with self._lock:
            self._vectors[text] = vec
            while len(self._vectors) > self._cap:
                self._vectors.popitem(last=False)
        return vec[None].copy()

    def encode_images(self, images: Sequence[Any]) -> np.ndarray:
        if len(images) != 1:
            return self.encoder.encode_images(list(images))
        item = self._prepare(images[0]) if self._prepare is not None else images[0]
        return np.asarray(self._image.submit(item), np.float32)[None]

    def close(self) -> None:
        self._text.close()
        self._image.close()

    def __getattr__(self, name: str) -> Any:  # anything else the wrapped encoder offers
        return getattr(self.encoder, name)


def one_torch_thread() -> None:
    """One intra-op thread for the calling thread's torch forwards (torch keeps the count
    per thread); nothing when torch was never imported."""
    import sys

    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(1)

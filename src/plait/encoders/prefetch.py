"""Decode-ahead: image decoding and resizing in threads while the model runs a batch.

PIL's decoders and resizers release the GIL, and so does a torch forward, so a small
thread pool is enough to keep the model fed on CPU and on GPU without worker processes.
Unreadable media do not stop the stream: they come back as failures with a reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import numpy as np

from plait.errors import InputError
from plait.readahead import read_ahead

T = TypeVar("T")


@dataclass
class Prepared(Generic[T]):
    """One batch ready for the model: the items that decoded, their pixels, the ones that did not."""

    items: list[T]
    pixels: np.ndarray | None
    failures: list[tuple[T, str]] = field(default_factory=list)


def prefetch_batches(
    chunks: Iterable[Sequence[T]],
    load: Callable[[Sequence[T]], list[bytes | None]],
    prepare: Callable[[bytes], np.ndarray],
    *,
    workers: int = 2,
    depth: int = 2,
) -> Iterator[Prepared[T]]:
    """Yield prepared batches, ``depth`` batches ahead of the consumer.

    ``load`` fetches the bytes of one chunk (one scan of the media table); ``prepare``
    decodes and resizes one image. Both run off the consumer's thread.
    """

    def one(data: bytes | None) -> np.ndarray | str:
        if data is None:
            return "missing_media"
        try:
            return prepare(data)
        except InputError as exc:
            return exc.reason
        except Exception as exc:  # a decoder can raise anything on bad bytes: counted
            return f"corrupt_image: {type(exc).__name__}"

    def finish(chunk: Sequence[T], futures: list[Future]) -> Prepared[T]:
        results = [f.result() for f in futures]
        good = [(it, r) for it, r in zip(chunk, results, strict=True) if isinstance(r, np.ndarray)]
        bad = [(it, r) for it, r in zip(chunk, results, strict=True) if isinstance(r, str)]
        pixels = np.stack([r for _, r in good]) if good else None
        return Prepared([it for it, _ in good], pixels, bad)

    def produce() -> Iterator[Prepared[T]]:
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            pending: tuple[Sequence[T], list[Future]] | None = None
            for chunk in chunks:
                # chunk k+1 is read while chunk k decodes in the pool
                futures = [pool.submit(one, data) for data in load(chunk)]
                if pending is not None:
                    yield finish(*pending)
                pending = (chunk, futures)
            if pending is not None:
                yield finish(*pending)

    return read_ahead(produce(), depth, name="plait-prefetch")

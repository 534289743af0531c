"""Read-ahead: run an iterator in a thread, a few items ahead of its consumer.

Parsing a tar shard or a table (ingest) and decoding images (embed, align) is work
that can overlap with what the consumer does with the previous item (a Lance write, a
model forward; both release the GIL). An exception in the producer is raised in the
consumer; a consumer that stops early stops the producer and waits for it, so no
thread outlives the loop that started it.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


class _End:
    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


def read_ahead(
    items: Iterable[T], depth: int = 2, name: str = "plait-read-ahead", chunk: int = 1
) -> Generator[T, None, None]:
    """Yield ``items``, produced in a thread up to ``depth`` items ahead. With ``chunk``
    above 1 items cross in lists of up to that many: a queue hand-off per small item
    (an ingest reader's samples) costs GIL time that threads decoding images wait for."""
    if chunk > 1:
        groups = read_ahead(_groups(items, chunk), max(1, depth // chunk), name)
        try:
            for group in groups:
                yield from group
        finally:
            groups.close()  # stops and joins the producer thread
        return
    q: queue.Queue[T | _End] = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()

    def put(item: T | _End) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        it = iter(items)
        try:
            for item in it:
                if not put(item):
                    return
            put(_End())
        except BaseException as exc:  # handed to the consumer, raised there
            put(_End(exc))
        finally:
            close = getattr(it, "close", None)
            if close is not None:
                close()  # a generator's own clean-up (a thread pool, an open file) runs here

    thread = threading.Thread(target=produce, name=name, daemon=True)
    thread.start()
    try:
        while True:
            got = q.get()
            if isinstance(got, _End):
                if got.error is not None:
                    raise got.error
                return
            yield got
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue
            try:
                q.get_nowait()
            except queue.Empty:
                thread.join(timeout=0.05)


def _groups(items: Iterable[T], size: int) -> Iterator[list[T]]:
    group: list[T] = []
    for item in items:
        group.append(item)
        if len(group) >= size:
            yield group
            group = []
    if group:
        yield group

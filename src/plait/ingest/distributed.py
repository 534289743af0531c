"""``plait ingest --executor ray``: a source's parts read and validated in parallel on Ray.

A reader that can split (``parts()``: one WebDataset reader per shard, folder readers
of a few hundred images, and one part per source when several are given) hands each
part to a Ray task. The task iterates the part, reads, hashes and fully decodes every
image (the work that dominates ingest), and returns the items with the outcome
attached (``ImageInput.loaded``). The driver feeds the items, part by part in source
order, to the ordinary ingest loop, which skips known samples, quarantines, builds
rows and commits in batches exactly as a local run does; it decodes nothing again.
So a Ray ingest stores the same samples and media as a local one.

Images of samples the corpus already holds (complete) are not decoded in the tasks:
a rerun after a killed driver costs a read of the finished parts, not their decoding.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from plait.ingest.base import ImageInput, Item, RawSample, Reader
from plait.ingest.loop import IngestOptions, load_image


def split(reader: Reader) -> list[Reader]:
    """The reader's parts (a reader that cannot split is one part)."""
    parts = getattr(reader, "parts", None)
    return list(parts()) if callable(parts) else [reader]


@dataclass
class ChainReader:
    """Several sources read one after another as one (``plait ingest A B C``)."""

    readers: Sequence[Reader]

    def __post_init__(self) -> None:
        self.dataset: str = self.readers[0].dataset
        self.licence: str = getattr(self.readers[0], "licence", "unknown")

    def __iter__(self) -> Iterator[Item]:
        for r in self.readers:
            yield from r

    def estimate(self) -> int | None:
        counts = [r.estimate() for r in self.readers]
        return None if any(c is None for c in counts) else sum(c or 0 for c in counts)

    def parts(self) -> list[Reader]:
        return [p for r in self.readers for p in split(r)]


def read_part(part: Reader, opts: IngestOptions, skip: frozenset[str]) -> list[Item]:
    """The part's items, each image slot read and validated (``loaded``); samples whose
    id is in ``skip`` are passed on as read (the loop skips them)."""
    items: list[Item] = []
    for it in part:
        if isinstance(it, RawSample):
            sid = it.id or f"{it.source.dataset or part.dataset}/{it.key}"
            if sid not in skip:
                for slot in it.slots:
                    if isinstance(slot, ImageInput) and (slot.data or slot.path):
                        slot.loaded = load_image(slot, opts)
        items.append(it)
    return items


@dataclass
class RayReader:
    """A reader whose parts are read on Ray, ``workers`` at a time, yielded in order."""

    reader: Reader
    opts: IngestOptions
    workers: int
    skip: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        self.dataset: str = self.reader.dataset
        self.licence: str = getattr(self.reader, "licence", "unknown")

    def estimate(self) -> int | None:
        return self.reader.estimate()

    def __iter__(self) -> Iterator[Item]:
        """Needs a connected Ray (:func:`plait.cluster.connect`, in the main thread)."""
        import ray

        task = ray.remote(num_cpus=1)(read_part)
        skip = ray.put(self.skip)
        opts = ray.put(self.opts)
        window: deque[Any] = deque()
        ahead = max(2, 2 * self.workers)  # parts in flight: bounded driver memory
        for part in split(self.reader):
            window.append(task.remote(part, opts, skip))
            if len(window) >= ahead:
                yield from ray.get(window.popleft())
        while window:
            yield from ray.get(window.popleft())

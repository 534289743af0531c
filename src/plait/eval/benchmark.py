"""The one shape every benchmark loader returns.

A :class:`Benchmark` is a candidate pool plus one or more :class:`Task` items
(a direction such as text-to-image, its queries and its qrels). Ids are the
benchmark's own until :func:`plait.eval.bind.bind` rewrites them into corpus
ids: ``sample_id`` for a whole sample, ``sample_id#slot`` for one slot (a
caption of a pair), so that scoring a search hit is a dict lookup.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from plait.errors import ConfigError

# Benchmark kinds: what the harness reports and how it searches.
CAPTIONS = "captions"  # image-text pairs, both directions (Flickr, COCO)
MBEIR = "mbeir"  # universal retrieval: any query modality, any candidate modality
PAGES = "pages"  # questions over document pages (MMDocIR style)
KINDS = (CAPTIONS, MBEIR, PAGES)


@dataclass(slots=True)
class Item:
    """A query or a candidate. ``image`` is a file path; ``media`` a corpus media id."""

    id: str
    text: str | None = None
    image: str | None = None
    media: str | None = None
    instruction: str | None = None  # M-BEIR task instruction (queries)
    scope: str | None = None  # pages: the document the answer must come from
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def modality(self) -> str:
        has_img = self.image is not None or self.media is not None
        return ",".join(m for m, on in (("image", has_img), ("text", self.text is not None)) if on)


@dataclass
class Task:
    """One retrieval direction: queries, what they rank, and the qrels.

    ``target`` is the candidate modality searched (``image``, ``text``, or None
    for any); ``slots`` says whether a hit is a (sample, slot) pair rather than
    a whole sample (image-to-caption retrieval ranks captions, not samples).
    """

    name: str
    queries: list[Item]
    qrels: dict[str, dict[str, int]]
    target: str | None
    slots: bool = False
    kind: str | None = None  # sample kind to search, e.g. "page"

    def __post_init__(self) -> None:
        ids = [q.id for q in self.queries]
        if len(set(ids)) != len(ids):
            raise ConfigError(f"task {self.name}: duplicate query ids")


@dataclass
class Benchmark:
    """A named benchmark: its tasks and its candidate pool (by candidate id)."""

    name: str
    kind: str
    tasks: list[Task]
    candidates: dict[str, Item]
    source: str = ""
    bound: bool = False  # ids are corpus ids (see plait.eval.bind)
    notes: dict[str, Any] = field(default_factory=dict)

    def task(self, name: str) -> Task:
        for t in self.tasks:
            if t.name == name:
                return t
        from plait.errors import UnknownNameError

        raise UnknownNameError("task", name, [t.name for t in self.tasks])

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "source": self.source,
            "candidates": len(self.candidates),
            "tasks": {
                t.name: {"queries": len(t.queries), "target": t.target, "slots": t.slots}
                for t in self.tasks
            },
        }


def caption_tasks(
    images: dict[str, str | None], captions: dict[str, list[str]]
) -> tuple[list[Task], dict[str, Item]]:
    """t2i and i2t tasks from ``{image_key: path}`` and ``{image_key: [caption, ...]}``.

    Candidate ids: the image key for images, ``key#i`` for its i-th caption.
    """
    cands: dict[str, Item] = {}
    t2i_q: list[Item] = []
    i2t_q: list[Item] = []
    t2i_rel: dict[str, dict[str, int]] = {}
    i2t_rel: dict[str, dict[str, int]] = {}
    for key, path in images.items():
        caps = captions.get(key, [])
        cands[key] = Item(key, image=path)
        i2t_q.append(Item(key, image=path))
        i2t_rel[key] = {}
        for i, text in enumerate(caps):
            cid = f"{key}#{i}"
            cands[cid] = Item(cid, text=text, meta={"image": key})
            t2i_q.append(Item(cid, text=text))
            t2i_rel[cid] = {key: 1}
            i2t_rel[key][cid] = 1
    tasks = [
        Task("t2i", t2i_q, t2i_rel, target="image"),
        Task("i2t", i2t_q, i2t_rel, target="text", slots=True),
    ]
    return tasks, cands

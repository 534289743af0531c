"""Samples back from plait's exports: a record (:mod:`plait.io.records`) as a raw
sample (:func:`from_record`), and the member groups of a WebDataset export put back
together (:func:`assemble`).

The export writes one member group per image of a sample (``KEY.png`` + ``KEY.txt``
+ ``KEY.json``), the groups of one sample adjacent in one shard, the first carrying
the sample's record (:mod:`plait.io.records`). The WebDataset reader turns such
groups into :class:`Part` items and :func:`assemble` puts each sample back together:
its record, with every image slot fed the bytes of the group that holds that media
id. An image whose group is not in the shards read (another shard; or a ``clips``
export, which holds each clip's cut MP4 and not its keyframes) is quarantined as
``not_in_export`` while the rest of the sample is kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from plait.errors import InputError
from plait.ingest.base import Failure, ImageInput, Item, MediaFile, RawSample
from plait.io import records
from plait.schema import Source

NOT_IN_EXPORT = "not_in_export"


@dataclass
class Part:
    """One member group of a plait-exported sample."""

    plait_id: str
    location: str
    record: dict[str, Any] | None = None  # on the sample's first group
    media_id: str | None = None
    image: ImageInput | MediaFile | None = None


@dataclass
class _Sample:
    part: Part
    images: dict[str, ImageInput | MediaFile] = field(default_factory=dict)

    def build(self) -> Item:
        assert self.part.record is not None
        where = self.part.location

        def image(i: int, media_id: str) -> ImageInput | MediaFile:
            got = self.images.get(media_id)
            if got is not None:
                return got
            loc = f"{where}#slot{i}"
            msg = f"media {media_id[:12]} of slot {i} is not in the shards read"
            return ImageInput(location=loc, loaded=InputError(NOT_IN_EXPORT, msg, loc))

        return from_record(self.part.record, image)


def assemble(items: Iterable[Item | Part]) -> Iterator[Item]:
    """Items with every run of :class:`Part` of one sample replaced by that sample."""
    cur: _Sample | None = None
    for it in items:
        if isinstance(it, Part):
            if cur is not None and (it.record is not None or it.plait_id != cur.part.plait_id):
                yield cur.build()
                cur = None
            if cur is None:
                if it.record is None:
                    yield Failure(
                        it.location,
                        "missing_record",
                        f"member group of {it.plait_id!r} without the group that holds its record",
                    )
                    continue
                cur = _Sample(it)
            if it.media_id and it.image is not None:
                cur.images.setdefault(it.media_id, it.image)
            continue
        if cur is not None:
            yield cur.build()
            cur = None
        yield it
    if cur is not None:
        yield cur.build()


def exported_part(
    meta: dict[str, Any], images: Sequence[ImageInput | MediaFile], where: str
) -> Part | Failure | None:
    """The :class:`Part` a member group's JSON describes, a Failure for a broken record,
    or None for a group plait did not write."""
    pid = meta.get("plait_id")
    if not isinstance(pid, str) or not (records.KEY in meta or "slot" in meta):
        return None
    record = meta.get(records.KEY)
    if record is not None and not records.is_record(record):
        return Failure(f"{where}.json", "bad_sidecar", "the plait record is malformed")
    mid = meta.get("sha256") if isinstance(meta.get("sha256"), str) else None
    if mid is None and images and isinstance(images[0], MediaFile):
        mid = images[0].sha256  # a sound: its bytes are stored unchanged
    return Part(pid, where, record, mid, images[0] if images else None)


def from_record(record: Mapping[str, Any], image: Callable[[int, str], Any]) -> RawSample:
    """The :class:`~plait.ingest.base.RawSample` a record describes; ``image(slot,
    media_id)`` gives each image slot's input (an ``ImageInput``)."""
    src = record.get("source") or {}
    fetched = src.get("fetched_at")
    slots: list[Any] = []
    for i, (text, media) in enumerate(zip(record["texts"], record["images"], strict=True)):
        slots.append(text if text is not None else image(i, media))
    tags = list(record.get("langs") or [])
    tags += [None] * (len(slots) - len(tags))
    return RawSample(
        key=record["id"],
        kind=record.get("kind") or "document",
        slots=slots,
        source=Source(
            uri=src.get("uri") or "",
            dataset=src.get("dataset") or "",
            licence=src.get("licence") or "unknown",
            url=src.get("url"),
            fetched_at=datetime.fromisoformat(fetched) if isinstance(fetched, str) else fetched,
        ),
        langs=[tag if isinstance(s, str) else None for s, tag in zip(slots, tags, strict=False)],
        meta=dict(record.get("meta") or {}),
        position=record.get("position"),
        id=record["id"],
        parent_id=record.get("parent"),
        stats=dict(record.get("stats") or {}),
    )
